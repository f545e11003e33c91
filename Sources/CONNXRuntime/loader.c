// Opens ONNX Runtime with dlopen (see include/CONNXRuntime.h for why nothing links against it).
#include "CONNXRuntime.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// OrtApiBase: { const OrtApi *(*GetApi)(uint32_t); const char *(*GetVersionString)(void); }
typedef struct IWOrtApiBase {
    const void *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
} IWOrtApiBase;

int iw_ort_open(const char *path, uint32_t version, IWOrtApi *api, char *error, size_t errorLength) {
    // RTLD_LOCAL: the library's symbols stay out of the global namespace. The handle is never closed:
    // sessions and the environment live as long as the process, and unloading ONNX Runtime while its
    // thread pools exist is unsafe.
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        snprintf(error, errorLength, "%s", reason ? reason : "dlopen failed");
        return 1;
    }
    const IWOrtApiBase *(*getApiBase)(void) = (const IWOrtApiBase *(*)(void))dlsym(handle, "OrtGetApiBase");
    if (getApiBase == NULL) {
        snprintf(error, errorLength, "%s does not export OrtGetApiBase: it is not ONNX Runtime", path);
        return 2;
    }
    const IWOrtApiBase *base = getApiBase();
    api->libraryVersion = base->GetVersionString ? base->GetVersionString() : "unknown";
    const void *table = base->GetApi(version);
    if (table == NULL) {
        snprintf(error, errorLength, "ONNX Runtime %s does not serve C API version %u", api->libraryVersion, version);
        return 3;
    }
    api->table = (void *const *)table;
    return 0;
}

int iw_ort_entry_index(const char *name) {
#define IW_ENTRY(X) if (strcmp(name, #X) == 0) return IW_ORT_##X;
    IW_ENTRY(GetErrorCode) IW_ENTRY(GetErrorMessage) IW_ENTRY(CreateEnv) IW_ENTRY(CreateSessionFromArray) IW_ENTRY(Run)
    IW_ENTRY(CreateSessionOptions) IW_ENTRY(DisableCpuMemArena) IW_ENTRY(SetSessionGraphOptimizationLevel)
    IW_ENTRY(SetIntraOpNumThreads) IW_ENTRY(SetInterOpNumThreads) IW_ENTRY(SessionGetInputCount) IW_ENTRY(SessionGetOutputCount)
    IW_ENTRY(SessionGetInputTypeInfo) IW_ENTRY(SessionGetOutputTypeInfo) IW_ENTRY(SessionGetInputName) IW_ENTRY(SessionGetOutputName)
    IW_ENTRY(CreateTensorAsOrtValue) IW_ENTRY(CreateTensorWithDataAsOrtValue) IW_ENTRY(GetTensorMutableData) IW_ENTRY(FillStringTensor)
    IW_ENTRY(CastTypeInfoToTensorInfo) IW_ENTRY(GetOnnxTypeFromTypeInfo) IW_ENTRY(GetTensorElementType) IW_ENTRY(GetDimensionsCount)
    IW_ENTRY(GetDimensions) IW_ENTRY(GetTensorTypeAndShape) IW_ENTRY(CreateCpuMemoryInfo) IW_ENTRY(AllocatorFree)
    IW_ENTRY(GetAllocatorWithDefaultOptions) IW_ENTRY(ReleaseEnv) IW_ENTRY(ReleaseStatus) IW_ENTRY(ReleaseMemoryInfo)
    IW_ENTRY(ReleaseSession) IW_ENTRY(ReleaseValue) IW_ENTRY(ReleaseTypeInfo) IW_ENTRY(ReleaseTensorTypeAndShapeInfo)
    IW_ENTRY(ReleaseSessionOptions)
#undef IW_ENTRY
    return -1;
}
