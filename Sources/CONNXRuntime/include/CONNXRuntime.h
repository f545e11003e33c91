// The small part of ONNX Runtime's C API that the worker uses, declared here rather than taken from
// onnxruntime_c_api.h: Debian bookworm packages neither the library nor its header, and the PyPI
// wheel the library comes from ships no header (see docs/model-bundle.md, "ONNX Runtime").
//
// `OrtApi` is a table of function pointers that only ever grows at its end, so each entry used here
// is called through its fixed position in the table (`IW_ORT_*` indices below). Two checks keep these
// declarations honest: scripts/onnxruntime/check-c-api.sh compiles this header against the official
// onnxruntime_c_api.h (Debian trixie's libonnxruntime-dev) with static asserts on every index and
// function type, and writes scripts/onnxruntime/ort-api-entries.txt, which a Swift test compares with
// `iw_ort_entry_index`.
//
// The library is opened with dlopen at run time (only when an ONNX bundle is served), so nothing
// here links against it.
#ifndef CONNXRUNTIME_H
#define CONNXRUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef IW_ORT_CHECK_AGAINST_OFFICIAL_HEADER
// Check mode: our names are the official types, so function types can be compared exactly.
#include "onnxruntime_c_api.h"
typedef OrtStatus IWOrtStatus;
typedef OrtEnv IWOrtEnv;
typedef OrtSession IWOrtSession;
typedef OrtSessionOptions IWOrtSessionOptions;
typedef OrtValue IWOrtValue;
typedef OrtTypeInfo IWOrtTypeInfo;
typedef OrtTensorTypeAndShapeInfo IWOrtTensorTypeAndShapeInfo;
typedef OrtMemoryInfo IWOrtMemoryInfo;
typedef OrtAllocator IWOrtAllocator;
typedef OrtRunOptions IWOrtRunOptions;
typedef OrtLoggingLevel IWOrtLoggingLevel;
typedef GraphOptimizationLevel IWOrtGraphOptimizationLevel;
typedef ONNXTensorElementDataType IWOrtElementType;
typedef ONNXType IWOrtONNXType;
typedef OrtAllocatorType IWOrtAllocatorType;
typedef OrtMemType IWOrtMemType;
typedef OrtErrorCode IWOrtErrorCode;
#else
typedef struct IWOrtStatus IWOrtStatus;
typedef struct IWOrtEnv IWOrtEnv;
typedef struct IWOrtSession IWOrtSession;
typedef struct IWOrtSessionOptions IWOrtSessionOptions;
typedef struct IWOrtValue IWOrtValue;
typedef struct IWOrtTypeInfo IWOrtTypeInfo;
typedef struct IWOrtTensorTypeAndShapeInfo IWOrtTensorTypeAndShapeInfo;
typedef struct IWOrtMemoryInfo IWOrtMemoryInfo;
typedef struct IWOrtAllocator IWOrtAllocator;
typedef struct IWOrtRunOptions IWOrtRunOptions;
// The C API's enums (all int-sized); values as in onnxruntime_c_api.h.
typedef enum { IW_ORT_LOGGING_LEVEL_VERBOSE_, IW_ORT_LOGGING_LEVEL_INFO_, IW_ORT_LOGGING_LEVEL_WARNING_, IW_ORT_LOGGING_LEVEL_ERROR_, IW_ORT_LOGGING_LEVEL_FATAL_ } IWOrtLoggingLevel;
typedef enum { IW_ORT_DISABLE_ALL_ = 0, IW_ORT_ENABLE_BASIC_ = 1, IW_ORT_ENABLE_EXTENDED_ = 2, IW_ORT_ENABLE_ALL_ = 99 } IWOrtGraphOptimizationLevel;
typedef enum { IW_ORT_ELEMENT_UNDEFINED_ = 0, IW_ORT_ELEMENT_LAST_ = 0x7fffffff } IWOrtElementType;
typedef enum { IW_ORT_ONNX_TYPE_UNKNOWN_ = 0, IW_ORT_ONNX_TYPE_LAST_ = 0x7fffffff } IWOrtONNXType;
typedef enum { IW_ORT_INVALID_ALLOCATOR_ = -1, IW_ORT_DEVICE_ALLOCATOR_ = 0, IW_ORT_ARENA_ALLOCATOR_ = 1 } IWOrtAllocatorType;
typedef enum { IW_ORT_MEM_TYPE_CPU_INPUT_ = -2, IW_ORT_MEM_TYPE_CPU_OUTPUT_ = -1, IW_ORT_MEM_TYPE_DEFAULT_ = 0 } IWOrtMemType;
typedef enum { IW_ORT_OK_ = 0, IW_ORT_ERROR_LAST_ = 0x7fffffff } IWOrtErrorCode;
#endif

// Values of the enums above that the worker passes or reads (onnxruntime_c_api.h).
enum {
    IW_ORT_LOGGING_LEVEL_ERROR = 3,
    IW_ORT_LOGGING_LEVEL_FATAL = 4,
    IW_ORT_ENABLE_ALL = 99,
    IW_ORT_ARENA_ALLOCATOR = 1,
    IW_ORT_MEM_TYPE_DEFAULT = 0,
    IW_ORT_ONNX_TYPE_TENSOR = 1,
    IW_ORT_ELEMENT_FLOAT = 1,
    IW_ORT_ELEMENT_INT32 = 6,
    IW_ORT_ELEMENT_INT64 = 7,
    IW_ORT_ELEMENT_STRING = 8,
    IW_ORT_ELEMENT_BOOL = 9,
    IW_ORT_ELEMENT_DOUBLE = 11,
};

// Positions in the OrtApi table (offsetof(OrtApi, X) / sizeof(void *)).
#define IW_ORT_GetErrorCode 1
#define IW_ORT_GetErrorMessage 2
#define IW_ORT_CreateEnv 3
#define IW_ORT_CreateSessionFromArray 8
#define IW_ORT_Run 9
#define IW_ORT_CreateSessionOptions 10
#define IW_ORT_DisableCpuMemArena 19
#define IW_ORT_SetSessionGraphOptimizationLevel 23
#define IW_ORT_SetIntraOpNumThreads 24
#define IW_ORT_SetInterOpNumThreads 25
#define IW_ORT_SessionGetInputCount 30
#define IW_ORT_SessionGetOutputCount 31
#define IW_ORT_SessionGetInputTypeInfo 33
#define IW_ORT_SessionGetOutputTypeInfo 34
#define IW_ORT_SessionGetInputName 36
#define IW_ORT_SessionGetOutputName 37
#define IW_ORT_CreateTensorAsOrtValue 48
#define IW_ORT_CreateTensorWithDataAsOrtValue 49
#define IW_ORT_GetTensorMutableData 51
#define IW_ORT_FillStringTensor 52
#define IW_ORT_CastTypeInfoToTensorInfo 55
#define IW_ORT_GetOnnxTypeFromTypeInfo 56
#define IW_ORT_GetTensorElementType 60
#define IW_ORT_GetDimensionsCount 61
#define IW_ORT_GetDimensions 62
#define IW_ORT_GetTensorTypeAndShape 65
#define IW_ORT_CreateCpuMemoryInfo 69
#define IW_ORT_AllocatorFree 76
#define IW_ORT_GetAllocatorWithDefaultOptions 78
#define IW_ORT_ReleaseEnv 92
#define IW_ORT_ReleaseStatus 93
#define IW_ORT_ReleaseMemoryInfo 94
#define IW_ORT_ReleaseSession 95
#define IW_ORT_ReleaseValue 96
#define IW_ORT_ReleaseTypeInfo 98
#define IW_ORT_ReleaseTensorTypeAndShapeInfo 99
#define IW_ORT_ReleaseSessionOptions 100

// The entries' types, as in onnxruntime_c_api.h (checked by scripts/onnxruntime/check-c-api.sh).
typedef IWOrtErrorCode (*IWOrtGetErrorCodeFn)(const IWOrtStatus *status);
typedef const char *(*IWOrtGetErrorMessageFn)(const IWOrtStatus *status);
typedef IWOrtStatus *(*IWOrtCreateEnvFn)(IWOrtLoggingLevel level, const char *logid, IWOrtEnv **out);
typedef IWOrtStatus *(*IWOrtCreateSessionFromArrayFn)(const IWOrtEnv *env, const void *data, size_t length, const IWOrtSessionOptions *options, IWOrtSession **out);
typedef IWOrtStatus *(*IWOrtRunFn)(IWOrtSession *session, const IWOrtRunOptions *runOptions, const char *const *inputNames, const IWOrtValue *const *inputs, size_t inputCount, const char *const *outputNames, size_t outputCount, IWOrtValue **outputs);
typedef IWOrtStatus *(*IWOrtCreateSessionOptionsFn)(IWOrtSessionOptions **out);
typedef IWOrtStatus *(*IWOrtDisableCpuMemArenaFn)(IWOrtSessionOptions *options);
typedef IWOrtStatus *(*IWOrtSetSessionGraphOptimizationLevelFn)(IWOrtSessionOptions *options, IWOrtGraphOptimizationLevel level);
typedef IWOrtStatus *(*IWOrtSetIntraOpNumThreadsFn)(IWOrtSessionOptions *options, int threads);
typedef IWOrtStatus *(*IWOrtSetInterOpNumThreadsFn)(IWOrtSessionOptions *options, int threads);
typedef IWOrtStatus *(*IWOrtSessionGetCountFn)(const IWOrtSession *session, size_t *out);
typedef IWOrtStatus *(*IWOrtSessionGetTypeInfoFn)(const IWOrtSession *session, size_t index, IWOrtTypeInfo **out);
typedef IWOrtStatus *(*IWOrtSessionGetNameFn)(const IWOrtSession *session, size_t index, IWOrtAllocator *allocator, char **out);
typedef IWOrtStatus *(*IWOrtCreateTensorAsOrtValueFn)(IWOrtAllocator *allocator, const int64_t *shape, size_t shapeLength, IWOrtElementType type, IWOrtValue **out);
typedef IWOrtStatus *(*IWOrtCreateTensorWithDataAsOrtValueFn)(const IWOrtMemoryInfo *info, void *data, size_t dataLength, const int64_t *shape, size_t shapeLength, IWOrtElementType type, IWOrtValue **out);
typedef IWOrtStatus *(*IWOrtGetTensorMutableDataFn)(IWOrtValue *value, void **out);
typedef IWOrtStatus *(*IWOrtFillStringTensorFn)(IWOrtValue *value, const char *const *strings, size_t count);
typedef IWOrtStatus *(*IWOrtCastTypeInfoToTensorInfoFn)(const IWOrtTypeInfo *typeInfo, const IWOrtTensorTypeAndShapeInfo **out);
typedef IWOrtStatus *(*IWOrtGetOnnxTypeFromTypeInfoFn)(const IWOrtTypeInfo *typeInfo, IWOrtONNXType *out);
typedef IWOrtStatus *(*IWOrtGetTensorElementTypeFn)(const IWOrtTensorTypeAndShapeInfo *info, IWOrtElementType *out);
typedef IWOrtStatus *(*IWOrtGetDimensionsCountFn)(const IWOrtTensorTypeAndShapeInfo *info, size_t *out);
typedef IWOrtStatus *(*IWOrtGetDimensionsFn)(const IWOrtTensorTypeAndShapeInfo *info, int64_t *values, size_t count);
typedef IWOrtStatus *(*IWOrtGetTensorTypeAndShapeFn)(const IWOrtValue *value, IWOrtTensorTypeAndShapeInfo **out);
typedef IWOrtStatus *(*IWOrtCreateCpuMemoryInfoFn)(IWOrtAllocatorType allocatorType, IWOrtMemType memType, IWOrtMemoryInfo **out);
typedef IWOrtStatus *(*IWOrtAllocatorFreeFn)(IWOrtAllocator *allocator, void *pointer);
typedef IWOrtStatus *(*IWOrtGetAllocatorWithDefaultOptionsFn)(IWOrtAllocator **out);
typedef void (*IWOrtReleaseEnvFn)(IWOrtEnv *input);
typedef void (*IWOrtReleaseStatusFn)(IWOrtStatus *input);
typedef void (*IWOrtReleaseMemoryInfoFn)(IWOrtMemoryInfo *input);
typedef void (*IWOrtReleaseSessionFn)(IWOrtSession *input);
typedef void (*IWOrtReleaseValueFn)(IWOrtValue *input);
typedef void (*IWOrtReleaseTypeInfoFn)(IWOrtTypeInfo *input);
typedef void (*IWOrtReleaseTensorTypeAndShapeInfoFn)(IWOrtTensorTypeAndShapeInfo *input);
typedef void (*IWOrtReleaseSessionOptionsFn)(IWOrtSessionOptions *input);

/// An opened library: the OrtApi table of the requested version.
typedef struct IWOrtApi {
    void *const *table;
    const char *libraryVersion;
} IWOrtApi;

/// Opens `path` (a file, or a name for the dynamic linker's search), looks up `OrtGetApiBase` and asks
/// for API `version`. Returns 0 and fills `api`; otherwise 1 (library not found: dlerror text), 2 (no
/// `OrtGetApiBase`: not ONNX Runtime) or 3 (the library does not serve `version`: too old; its version
/// string is still filled), with a message in `error`. The library stays loaded for the process.
int iw_ort_open(const char *path, uint32_t version, IWOrtApi *api, char *error, size_t errorLength);

/// The table position this header uses for entry `name` (for the Swift test against the committed
/// copy of the official positions); -1 for a name it does not use.
int iw_ort_entry_index(const char *name);

#define IW_ORT_ENTRY(api, name, type) ((type)((api)->table[IW_ORT_##name]))

static inline IWOrtErrorCode iw_ort_GetErrorCode(const IWOrtApi *a, const IWOrtStatus *s) { return IW_ORT_ENTRY(a, GetErrorCode, IWOrtGetErrorCodeFn)(s); }
static inline const char *iw_ort_GetErrorMessage(const IWOrtApi *a, const IWOrtStatus *s) { return IW_ORT_ENTRY(a, GetErrorMessage, IWOrtGetErrorMessageFn)(s); }
static inline IWOrtStatus *iw_ort_CreateEnv(const IWOrtApi *a, int level, const char *logid, IWOrtEnv **out) { return IW_ORT_ENTRY(a, CreateEnv, IWOrtCreateEnvFn)((IWOrtLoggingLevel)level, logid, out); }
static inline IWOrtStatus *iw_ort_CreateSessionFromArray(const IWOrtApi *a, const IWOrtEnv *env, const void *data, size_t length, const IWOrtSessionOptions *options, IWOrtSession **out) { return IW_ORT_ENTRY(a, CreateSessionFromArray, IWOrtCreateSessionFromArrayFn)(env, data, length, options, out); }
static inline IWOrtStatus *iw_ort_Run(const IWOrtApi *a, IWOrtSession *session, const char *const *inputNames, const IWOrtValue *const *inputs, size_t inputCount, const char *const *outputNames, size_t outputCount, IWOrtValue **outputs) { return IW_ORT_ENTRY(a, Run, IWOrtRunFn)(session, NULL, inputNames, inputs, inputCount, outputNames, outputCount, outputs); }
static inline IWOrtStatus *iw_ort_CreateSessionOptions(const IWOrtApi *a, IWOrtSessionOptions **out) { return IW_ORT_ENTRY(a, CreateSessionOptions, IWOrtCreateSessionOptionsFn)(out); }
static inline IWOrtStatus *iw_ort_DisableCpuMemArena(const IWOrtApi *a, IWOrtSessionOptions *o) { return IW_ORT_ENTRY(a, DisableCpuMemArena, IWOrtDisableCpuMemArenaFn)(o); }
static inline IWOrtStatus *iw_ort_SetSessionGraphOptimizationLevel(const IWOrtApi *a, IWOrtSessionOptions *o, int level) { return IW_ORT_ENTRY(a, SetSessionGraphOptimizationLevel, IWOrtSetSessionGraphOptimizationLevelFn)(o, (IWOrtGraphOptimizationLevel)level); }
static inline IWOrtStatus *iw_ort_SetIntraOpNumThreads(const IWOrtApi *a, IWOrtSessionOptions *o, int n) { return IW_ORT_ENTRY(a, SetIntraOpNumThreads, IWOrtSetIntraOpNumThreadsFn)(o, n); }
static inline IWOrtStatus *iw_ort_SetInterOpNumThreads(const IWOrtApi *a, IWOrtSessionOptions *o, int n) { return IW_ORT_ENTRY(a, SetInterOpNumThreads, IWOrtSetInterOpNumThreadsFn)(o, n); }
static inline IWOrtStatus *iw_ort_SessionGetInputCount(const IWOrtApi *a, const IWOrtSession *s, size_t *out) { return IW_ORT_ENTRY(a, SessionGetInputCount, IWOrtSessionGetCountFn)(s, out); }
static inline IWOrtStatus *iw_ort_SessionGetOutputCount(const IWOrtApi *a, const IWOrtSession *s, size_t *out) { return IW_ORT_ENTRY(a, SessionGetOutputCount, IWOrtSessionGetCountFn)(s, out); }
static inline IWOrtStatus *iw_ort_SessionGetInputTypeInfo(const IWOrtApi *a, const IWOrtSession *s, size_t i, IWOrtTypeInfo **out) { return IW_ORT_ENTRY(a, SessionGetInputTypeInfo, IWOrtSessionGetTypeInfoFn)(s, i, out); }
static inline IWOrtStatus *iw_ort_SessionGetOutputTypeInfo(const IWOrtApi *a, const IWOrtSession *s, size_t i, IWOrtTypeInfo **out) { return IW_ORT_ENTRY(a, SessionGetOutputTypeInfo, IWOrtSessionGetTypeInfoFn)(s, i, out); }
static inline IWOrtStatus *iw_ort_SessionGetInputName(const IWOrtApi *a, const IWOrtSession *s, size_t i, IWOrtAllocator *al, char **out) { return IW_ORT_ENTRY(a, SessionGetInputName, IWOrtSessionGetNameFn)(s, i, al, out); }
static inline IWOrtStatus *iw_ort_SessionGetOutputName(const IWOrtApi *a, const IWOrtSession *s, size_t i, IWOrtAllocator *al, char **out) { return IW_ORT_ENTRY(a, SessionGetOutputName, IWOrtSessionGetNameFn)(s, i, al, out); }
static inline IWOrtStatus *iw_ort_CreateTensorAsOrtValue(const IWOrtApi *a, IWOrtAllocator *al, const int64_t *shape, size_t n, int type, IWOrtValue **out) { return IW_ORT_ENTRY(a, CreateTensorAsOrtValue, IWOrtCreateTensorAsOrtValueFn)(al, shape, n, (IWOrtElementType)type, out); }
static inline IWOrtStatus *iw_ort_CreateTensorWithDataAsOrtValue(const IWOrtApi *a, const IWOrtMemoryInfo *info, void *data, size_t length, const int64_t *shape, size_t n, int type, IWOrtValue **out) { return IW_ORT_ENTRY(a, CreateTensorWithDataAsOrtValue, IWOrtCreateTensorWithDataAsOrtValueFn)(info, data, length, shape, n, (IWOrtElementType)type, out); }
static inline IWOrtStatus *iw_ort_GetTensorMutableData(const IWOrtApi *a, IWOrtValue *v, void **out) { return IW_ORT_ENTRY(a, GetTensorMutableData, IWOrtGetTensorMutableDataFn)(v, out); }
static inline IWOrtStatus *iw_ort_FillStringTensor(const IWOrtApi *a, IWOrtValue *v, const char *const *s, size_t n) { return IW_ORT_ENTRY(a, FillStringTensor, IWOrtFillStringTensorFn)(v, s, n); }
static inline IWOrtStatus *iw_ort_CastTypeInfoToTensorInfo(const IWOrtApi *a, const IWOrtTypeInfo *t, const IWOrtTensorTypeAndShapeInfo **out) { return IW_ORT_ENTRY(a, CastTypeInfoToTensorInfo, IWOrtCastTypeInfoToTensorInfoFn)(t, out); }
static inline IWOrtStatus *iw_ort_GetOnnxTypeFromTypeInfo(const IWOrtApi *a, const IWOrtTypeInfo *t, int *out) { IWOrtONNXType value = 0; IWOrtStatus *s = IW_ORT_ENTRY(a, GetOnnxTypeFromTypeInfo, IWOrtGetOnnxTypeFromTypeInfoFn)(t, &value); *out = (int)value; return s; }
static inline IWOrtStatus *iw_ort_GetTensorElementType(const IWOrtApi *a, const IWOrtTensorTypeAndShapeInfo *t, int *out) { IWOrtElementType value = 0; IWOrtStatus *s = IW_ORT_ENTRY(a, GetTensorElementType, IWOrtGetTensorElementTypeFn)(t, &value); *out = (int)value; return s; }
static inline IWOrtStatus *iw_ort_GetDimensionsCount(const IWOrtApi *a, const IWOrtTensorTypeAndShapeInfo *t, size_t *out) { return IW_ORT_ENTRY(a, GetDimensionsCount, IWOrtGetDimensionsCountFn)(t, out); }
static inline IWOrtStatus *iw_ort_GetDimensions(const IWOrtApi *a, const IWOrtTensorTypeAndShapeInfo *t, int64_t *values, size_t n) { return IW_ORT_ENTRY(a, GetDimensions, IWOrtGetDimensionsFn)(t, values, n); }
static inline IWOrtStatus *iw_ort_GetTensorTypeAndShape(const IWOrtApi *a, const IWOrtValue *v, IWOrtTensorTypeAndShapeInfo **out) { return IW_ORT_ENTRY(a, GetTensorTypeAndShape, IWOrtGetTensorTypeAndShapeFn)(v, out); }
static inline IWOrtStatus *iw_ort_CreateCpuMemoryInfo(const IWOrtApi *a, int allocatorType, int memType, IWOrtMemoryInfo **out) { return IW_ORT_ENTRY(a, CreateCpuMemoryInfo, IWOrtCreateCpuMemoryInfoFn)((IWOrtAllocatorType)allocatorType, (IWOrtMemType)memType, out); }
static inline IWOrtStatus *iw_ort_AllocatorFree(const IWOrtApi *a, IWOrtAllocator *al, void *p) { return IW_ORT_ENTRY(a, AllocatorFree, IWOrtAllocatorFreeFn)(al, p); }
static inline IWOrtStatus *iw_ort_GetAllocatorWithDefaultOptions(const IWOrtApi *a, IWOrtAllocator **out) { return IW_ORT_ENTRY(a, GetAllocatorWithDefaultOptions, IWOrtGetAllocatorWithDefaultOptionsFn)(out); }
static inline void iw_ort_ReleaseEnv(const IWOrtApi *a, IWOrtEnv *p) { IW_ORT_ENTRY(a, ReleaseEnv, IWOrtReleaseEnvFn)(p); }
static inline void iw_ort_ReleaseStatus(const IWOrtApi *a, IWOrtStatus *p) { IW_ORT_ENTRY(a, ReleaseStatus, IWOrtReleaseStatusFn)(p); }
static inline void iw_ort_ReleaseMemoryInfo(const IWOrtApi *a, IWOrtMemoryInfo *p) { IW_ORT_ENTRY(a, ReleaseMemoryInfo, IWOrtReleaseMemoryInfoFn)(p); }
static inline void iw_ort_ReleaseSession(const IWOrtApi *a, IWOrtSession *p) { IW_ORT_ENTRY(a, ReleaseSession, IWOrtReleaseSessionFn)(p); }
static inline void iw_ort_ReleaseValue(const IWOrtApi *a, IWOrtValue *p) { IW_ORT_ENTRY(a, ReleaseValue, IWOrtReleaseValueFn)(p); }
static inline void iw_ort_ReleaseTypeInfo(const IWOrtApi *a, IWOrtTypeInfo *p) { IW_ORT_ENTRY(a, ReleaseTypeInfo, IWOrtReleaseTypeInfoFn)(p); }
static inline void iw_ort_ReleaseTensorTypeAndShapeInfo(const IWOrtApi *a, IWOrtTensorTypeAndShapeInfo *p) { IW_ORT_ENTRY(a, ReleaseTensorTypeAndShapeInfo, IWOrtReleaseTensorTypeAndShapeInfoFn)(p); }
static inline void iw_ort_ReleaseSessionOptions(const IWOrtApi *a, IWOrtSessionOptions *p) { IW_ORT_ENTRY(a, ReleaseSessionOptions, IWOrtReleaseSessionOptionsFn)(p); }

#endif
