/// Offset-tracking contradictions are caller bugs: `isFatal` (declared on the error) stops the worker.
extension OffsetTrackingError: ClassifiedFailure {}
