// Compiled by check-c-api.sh against the official onnxruntime_c_api.h: fails to compile when an
// index or a function type in Sources/CONNXRuntime/include/CONNXRuntime.h differs from the header;
// when it compiles, it prints every entry's official position (ort-api-entries.txt).
#define IW_ORT_CHECK_AGAINST_OFFICIAL_HEADER 1
#include "CONNXRuntime.h"
#include <stddef.h>
#include <stdio.h>

#define POSITION(X) (offsetof(OrtApi, X) / sizeof(void *))
#define CHECK(X, TYPE)                                                                                   \
    _Static_assert(POSITION(X) == IW_ORT_##X, "CONNXRuntime.h: wrong position of OrtApi::" #X);        \
    _Static_assert(__builtin_types_compatible_p(__typeof__(((OrtApi *)0)->X), TYPE), "CONNXRuntime.h: wrong type of OrtApi::" #X);

#define ENTRIES(E)                                                                                       \
    E(GetErrorCode, IWOrtGetErrorCodeFn) E(GetErrorMessage, IWOrtGetErrorMessageFn) E(CreateEnv, IWOrtCreateEnvFn)       \
    E(CreateSessionFromArray, IWOrtCreateSessionFromArrayFn) E(Run, IWOrtRunFn)                                          \
    E(CreateSessionOptions, IWOrtCreateSessionOptionsFn) E(DisableCpuMemArena, IWOrtDisableCpuMemArenaFn)                \
    E(SetSessionGraphOptimizationLevel, IWOrtSetSessionGraphOptimizationLevelFn)                                         \
    E(SetIntraOpNumThreads, IWOrtSetIntraOpNumThreadsFn) E(SetInterOpNumThreads, IWOrtSetInterOpNumThreadsFn)            \
    E(SessionGetInputCount, IWOrtSessionGetCountFn) E(SessionGetOutputCount, IWOrtSessionGetCountFn)                     \
    E(SessionGetInputTypeInfo, IWOrtSessionGetTypeInfoFn) E(SessionGetOutputTypeInfo, IWOrtSessionGetTypeInfoFn)         \
    E(SessionGetInputName, IWOrtSessionGetNameFn) E(SessionGetOutputName, IWOrtSessionGetNameFn)                         \
    E(CreateTensorAsOrtValue, IWOrtCreateTensorAsOrtValueFn)                                                             \
    E(CreateTensorWithDataAsOrtValue, IWOrtCreateTensorWithDataAsOrtValueFn)                                             \
    E(GetTensorMutableData, IWOrtGetTensorMutableDataFn) E(FillStringTensor, IWOrtFillStringTensorFn)                    \
    E(CastTypeInfoToTensorInfo, IWOrtCastTypeInfoToTensorInfoFn) E(GetOnnxTypeFromTypeInfo, IWOrtGetOnnxTypeFromTypeInfoFn) \
    E(GetTensorElementType, IWOrtGetTensorElementTypeFn) E(GetDimensionsCount, IWOrtGetDimensionsCountFn)                \
    E(GetDimensions, IWOrtGetDimensionsFn) E(GetTensorTypeAndShape, IWOrtGetTensorTypeAndShapeFn)                        \
    E(CreateCpuMemoryInfo, IWOrtCreateCpuMemoryInfoFn) E(AllocatorFree, IWOrtAllocatorFreeFn)                            \
    E(GetAllocatorWithDefaultOptions, IWOrtGetAllocatorWithDefaultOptionsFn) E(ReleaseEnv, IWOrtReleaseEnvFn)            \
    E(ReleaseStatus, IWOrtReleaseStatusFn) E(ReleaseMemoryInfo, IWOrtReleaseMemoryInfoFn)                                \
    E(ReleaseSession, IWOrtReleaseSessionFn) E(ReleaseValue, IWOrtReleaseValueFn) E(ReleaseTypeInfo, IWOrtReleaseTypeInfoFn) \
    E(ReleaseTensorTypeAndShapeInfo, IWOrtReleaseTensorTypeAndShapeInfoFn) E(ReleaseSessionOptions, IWOrtReleaseSessionOptionsFn)

ENTRIES(CHECK)

// The enum values the worker passes or reads.
_Static_assert((int)IW_ORT_LOGGING_LEVEL_ERROR == (int)ORT_LOGGING_LEVEL_ERROR, "logging level");
_Static_assert((int)IW_ORT_LOGGING_LEVEL_FATAL == (int)ORT_LOGGING_LEVEL_FATAL, "logging level");
_Static_assert((int)IW_ORT_ENABLE_ALL == (int)ORT_ENABLE_ALL, "graph optimization level");
_Static_assert((int)IW_ORT_ARENA_ALLOCATOR == (int)OrtArenaAllocator, "allocator type");
_Static_assert((int)IW_ORT_MEM_TYPE_DEFAULT == (int)OrtMemTypeDefault, "memory type");
_Static_assert((int)IW_ORT_ONNX_TYPE_TENSOR == (int)ONNX_TYPE_TENSOR, "ONNX type");
_Static_assert((int)IW_ORT_ELEMENT_FLOAT == (int)ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "float");
_Static_assert((int)IW_ORT_ELEMENT_INT32 == (int)ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, "int32");
_Static_assert((int)IW_ORT_ELEMENT_INT64 == (int)ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "int64");
_Static_assert((int)IW_ORT_ELEMENT_STRING == (int)ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING, "string");
_Static_assert((int)IW_ORT_ELEMENT_BOOL == (int)ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "bool");
_Static_assert((int)IW_ORT_ELEMENT_DOUBLE == (int)ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, "double");
_Static_assert(sizeof(IWOrtElementType) == sizeof(ONNXTensorElementDataType), "enum size");

#define PRINT(X, TYPE) printf("%s %zu\n", #X, POSITION(X));

int main(void) {
    printf("# OrtApi positions from onnxruntime_c_api.h (ORT_API_VERSION %d); written by scripts/onnxruntime/check-c-api.sh\n", ORT_API_VERSION);
    ENTRIES(PRINT)
    return 0;
}
