/// A model evaluated on a whole batch at once: one pass over a contiguous row-major Float32 matrix.
///
/// Kernels see rows *after* preprocessing (scaling, one-hot encoding), so `inputWidth` is the
/// preprocessed width. They write the model's final outputs:
/// - regression: 1 value per row;
/// - binary classification: 1 value per row, the probability of the positive class;
/// - multiclass: `outputWidth` probabilities per row, summing to 1.
///
/// A missing value is NaN in `input`; only kernels that handle missing values natively (tree
/// ensembles, through their default directions) receive NaN, the others get the schema's default.
public protocol ModelKernel: Sendable {
    /// Float32 columns read per row.
    var inputWidth: Int { get }
    /// Float32 values written per row.
    var outputWidth: Int { get }
    /// Evaluates `rowCount` rows of `input` (row-major, `rowCount * inputWidth` values) into
    /// `output` (row-major, `rowCount * outputWidth` values). Allocates nothing per row.
    func predict(input: UnsafeBufferPointer<Float>, rowCount: Int, output: UnsafeMutableBufferPointer<Float>)
}
