extension LoadedModel {
    /// Replays the bundle's reference rows through validation, preprocessing, the kernel and output
    /// validation, and compares with the expected outputs. `nil` when the bundle has no reference rows.
    public func selfTest(batchSize: Int = 256) -> SelfTestReport? {
        guard let reference else { return nil }
        let width = output.width
        let tolerance = reference.tolerance
        var report = SelfTestReport(
            rowCount: reference.rowCount, failureCount: 0, failures: [], maxAbsoluteError: 0, maxScaledError: 0, tolerance: tolerance)
        func fail(_ row: Int, _ reason: String) {
            report.failureCount += 1
            if report.failures.count < 10 { report.failures.append(.init(row: row, reason: reason)) }
        }
        var start = 0
        while start < reference.rowCount {
            let end = Swift.min(start + Swift.max(batchSize, 1), reference.rowCount)
            let rows = (start..<end).map { reference.rawRow($0, schema: schema) }
            let results = predict(rows)
            for (offset, result) in results.enumerated() {
                let row = start + offset
                switch result {
                case .failure(let error):
                    fail(row, error.description)
                case .success(let prediction):
                    let actual: [Float]
                    switch prediction {
                    case .regression(let score), .binary(let score, _, _): actual = [score]
                    case .multiclass(let probabilities, _, _), .multiOutputRegression(let probabilities): actual = Array(probabilities)
                    }
                    var worst: (index: Int, scaled: Double)?
                    for column in 0..<width {
                        let expected = Double(reference.expectedOutputs[row * width + column])
                        let difference = abs(Double(actual[column]) - expected)
                        let scaled = difference / Swift.max(abs(expected), tolerance.absoluteFloor)
                        report.maxAbsoluteError = Swift.max(report.maxAbsoluteError, difference)
                        report.maxScaledError = Swift.max(report.maxScaledError, scaled)
                        if scaled > tolerance.relative, scaled > (worst?.scaled ?? 0) { worst = (column, scaled) }
                    }
                    if let worst {
                        fail(row, "output \(worst.index) is \(actual[worst.index]), expected \(reference.expectedOutputs[row * width + worst.index])")
                    }
                }
            }
            start = end
        }
        return report
    }
}
