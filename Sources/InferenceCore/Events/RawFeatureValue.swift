/// One feature value as it appeared in a request, before validation against the model's input schema.
///
/// The request decoder produces one per schema feature, in the schema's declared order (mapping
/// object keys to positions and rejecting unknown names and wrong arity); the input schema then
/// validates and encodes them (type, range, NaN/infinity, unknown category, missing default,
/// preprocessing) into the Float32 row the kernel reads.
public enum RawFeatureValue: Sendable, Hashable {
    /// Absent from an object-keyed request.
    case missing
    /// JSON `null`.
    case null
    /// A JSON number. A number too large for Double decodes as infinity; the bare literals `NaN`,
    /// `Infinity` and `-Infinity` (Python's `json.dumps`) decode as NaN and the two infinities.
    case number(Double)
    /// A JSON string (categorical features).
    case string(String)
    /// A JSON `true` / `false` (1 / 0 for a numeric feature).
    case bool(Bool)
}
