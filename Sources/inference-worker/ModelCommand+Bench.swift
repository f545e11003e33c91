import ArgumentParser
import Foundation
import InferenceCore

extension ModelCommand {
    /// Rows per second at several batch sizes: the kernel alone, and the full path (validation,
    /// preprocessing, kernel, output validation). Run it from a release build.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure rows/s per batch size for one or more bundles (kernel alone and full predict path).",
            discussion: "Build in release for meaningful figures: swift run -c release inference-worker model bench models/fraud-mlp/1"
        )

        @Argument(help: "Bundle version directories.")
        var directories: [String]

        @Option(help: "Rows evaluated per measurement.")
        var rows: Int = 200_000

        @Option(help: "Comma-separated batch sizes.")
        var batchSizes: String = "1,64"

        @Option(help: "ONNX Runtime library for onnx bundles (env INFERENCE_WORKER_ONNXRUNTIME_LIBRARY; default libonnxruntime.so.1 on the search path).")
        var onnxruntimeLibrary: String?

        @Option(help: "Intra-op threads of ONNX Runtime sessions (the worker's --onnxruntime-intra-op-threads).")
        var onnxruntimeIntraOpThreads: Int = 1

        @Option(help: "Inter-op threads of ONNX Runtime sessions (the worker's --onnxruntime-inter-op-threads).")
        var onnxruntimeInterOpThreads: Int = 1

        func validate() throws {
            guard rows > 0 else { throw ValidationError("--rows must be positive") }
            guard !parsedBatchSizes.isEmpty, parsedBatchSizes.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--batch-sizes must be positive integers, e.g. 1,64")
            }
            do { try onnxRuntime.validate() } catch { throw ValidationError(error.message) }
        }

        var onnxRuntime: ONNXRuntimeConfiguration {
            ONNXRuntimeConfiguration(libraryPath: onnxruntimeLibrary, intraOpThreads: onnxruntimeIntraOpThreads, interOpThreads: onnxruntimeInterOpThreads)
        }

        var parsedBatchSizes: [Int] { batchSizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

        func run() throws {
            #if DEBUG
            printError("warning: debug build; figures are not representative (use swift run -c release)")
            #endif
            print(pad("bundle", 28) + pad("kind", 8) + pad("batch", 7) + pad("kernel rows/s", 16) + "full path rows/s")
            for directory in directories {
                let model: LoadedModel
                do {
                    model = try ModelBundle.load(from: URL(fileURLWithPath: directory, isDirectory: true), options: .init(runSelfTest: false, onnxRuntime: onnxRuntime))
                } catch {
                    printError("\(directory): \(error.code): \(error.message)")
                    throw ExitCode(1)
                }
                let sample = sampleRows(model)
                let encoded = model.schema.encode(rows: sample)
                guard encoded.packedCount == sample.count else {
                    printError("\(directory): sample rows failed validation")
                    throw ExitCode(1)
                }
                for batchSize in parsedBatchSizes {
                    let kernel = kernelRowsPerSecond(model, encoded, sample, batchSize: batchSize)
                    let full = fullPathRowsPerSecond(model, sample, batchSize: batchSize)
                    print(pad("\(model.name)/\(model.version)", 28) + pad(model.kind.rawValue, 8) + pad("\(batchSize)", 7)
                        + pad(String(format: "%.0f", kernel), 16) + String(format: "%.0f", full))
                }
            }
        }

        /// Reference rows when the bundle has them (realistic values), else values inside each feature's range.
        private func sampleRows(_ model: LoadedModel) -> [[RawFeatureValue]] {
            if let reference = model.reference {
                return (0..<min(reference.rowCount, 1024)).map { reference.rawRow($0, schema: model.schema) }
            }
            return (0..<1024).map { row in
                model.schema.features.map { feature in
                    switch feature.valueType {
                    case .numeric:
                        let lo = feature.minimum ?? -1
                        let hi = feature.maximum ?? 1
                        return .number(lo + (hi - lo) * Double(row % 97) / 96)
                    case .categorical:
                        return .string(feature.vocabulary[row % feature.vocabulary.count])
                    }
                }
            }
        }

        private func kernelRowsPerSecond(_ model: LoadedModel, _ encoded: EncodedBatch, _ sample: [[RawFeatureValue]], batchSize: Int) -> Double {
            guard let kernel = model.kernel else { return runtimeRowsPerSecond(model, sample, batchSize: batchSize) }
            let available = encoded.packedCount
            let batch = min(batchSize, available)
            var output = [Float](repeating: 0, count: batch * kernel.outputWidth)
            var checksum: Float = 0
            let clock = ContinuousClock()
            let elapsed = encoded.matrix.withUnsafeBufferPointer { matrix in
                output.withUnsafeMutableBufferPointer { out in
                    clock.measure {
                        var done = 0
                        var start = 0
                        while done < rows {
                            if start + batch > available { start = 0 }
                            let input = UnsafeBufferPointer(rebasing: matrix[(start * kernel.inputWidth)..<((start + batch) * kernel.inputWidth)])
                            kernel.predict(input: input, rowCount: batch, output: out)
                            checksum += out[0]
                            start += batch
                            done += batch
                        }
                    }
                }
            }
            if checksum.isNaN { printError("(checksum NaN)") }  // keeps the loop from being optimised away
            return Double(rows) / seconds(elapsed)
        }

        /// An external runtime (ONNX Runtime) alone: the sample cut into batches, each appended to a
        /// scorer of its own once, then the scorers run again and again in turn (the input tensors are
        /// built from the scorer's buffers on every run, as in serving). Every sample row takes part,
        /// as in the native kernel's loop: a tree ensemble's cost depends on the rows (measured: the
        /// first 64 reference rows of fraud-trees run 2.7x faster than all 1,024).
        private func runtimeRowsPerSecond(_ model: LoadedModel, _ sample: [[RawFeatureValue]], batchSize: Int) -> Double {
            let batch = min(batchSize, sample.count)
            var scorers = stride(from: 0, to: sample.count - batch + 1, by: batch).map { start in
                var scorer = model.makeScorer(maxRows: batch)
                for row in sample[start..<(start + batch)] { _ = scorer.append(row: row) }
                scorer.score()
                return scorer
            }
            var checksum: Float = 0
            let total = max(rows / 10, batch)
            let elapsed = ContinuousClock().measure {
                var done = 0
                var next = 0
                while done < total {
                    scorers[next].rescore()
                    if case .success(let output) = scorers[next].outcome(ofRow: 0) { checksum += output.score }
                    next = next + 1 == scorers.count ? 0 : next + 1
                    done += batch
                }
            }
            if checksum.isNaN { printError("(checksum NaN)") }
            return Double(total) / seconds(elapsed)
        }

        /// The serving path without Kafka: one ``BatchScorer`` reused batch after batch, as the
        /// pipeline's scoring thread uses it (validation, preprocessing into the batch matrix, the
        /// kernel, output validation).
        private func fullPathRowsPerSecond(_ model: LoadedModel, _ sample: [[RawFeatureValue]], batchSize: Int) -> Double {
            let batch = min(batchSize, sample.count)
            var scorer = model.makeScorer(maxRows: batch)
            let total = max(rows / 10, batch)  // the full path is slower; keep the run short
            var failures = 0
            var checksum: Float = 0
            let elapsed = ContinuousClock().measure {
                var done = 0
                var next = 0
                while done < total {
                    for _ in 0..<batch {
                        if scorer.append(row: sample[next]) != nil { failures += 1 }
                        next = next + 1 == sample.count ? 0 : next + 1
                    }
                    scorer.score()
                    for row in 0..<scorer.rowCount {
                        switch scorer.outcome(ofRow: row) {
                        case .success(let output): checksum += output.score
                        case .failure: failures += 1
                        }
                    }
                    scorer.reset()
                    done += batch
                }
            }
            if failures > 0 { printError("(\(failures) rows failed)") }
            if checksum.isNaN { printError("(checksum NaN)") }  // keeps the loop from being optimised away
            return Double(total) / seconds(elapsed)
        }

        private func seconds(_ duration: Duration) -> Double {
            duration.doubleSeconds
        }
    }
}
