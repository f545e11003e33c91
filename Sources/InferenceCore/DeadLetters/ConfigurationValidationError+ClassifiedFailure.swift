/// A configuration that does not validate stops the worker (`isFatal`, declared on the error).
extension ConfigurationValidationError: ClassifiedFailure {}
