// An LD_PRELOAD allocation counter for `inference-worker bench`: counts malloc, calloc, realloc and
// the aligned allocators per thread, and samples call stacks of one named thread, so the bench can
// say how many allocations a record costs on each thread and where they come from.
//
// Built and preloaded by scripts/bench.sh (`cc -O2 -shared -fPIC -o malloc-count.so malloc-count.c -ldl`).
// The bench finds `malloc_count_report` with dlsym; without the preload it reports nothing.
//
// MALLOC_COUNT_TRACE_THREAD=name   sample stacks of allocations on threads with this name (* for all;
//                                  Foundation threads keep their creator's name on Linux)
// MALLOC_COUNT_SAMPLE=n            sample every n-th allocation of such a thread (default 16)
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#define MAX_THREADS 512
#define MAX_STACKS 1024
#define DEPTH 14

struct slot {
    _Atomic uint64_t count;
    uint64_t reported;
    char name[16];
};

static struct slot slots[MAX_THREADS];
static _Atomic int slot_count;
static __thread int my_slot = -1;
static __thread int in_hook;
static __thread uint64_t sample_tick;
static __thread uint64_t name_tick;

struct stack {
    uint64_t hash;
    uint64_t count;
    void *frames[DEPTH];
    int depth;
};
static struct stack stacks[MAX_STACKS];
static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *trace_thread;
static uint64_t sample_every = 16;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

// dlsym itself may calloc before real_calloc is known: serve that from a static arena.
static char bootstrap_arena[8192];
static size_t bootstrap_used;

static void init(void) {
    if (real_malloc) return;
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = dlsym(RTLD_NEXT, "memalign");
    trace_thread = getenv("MALLOC_COUNT_TRACE_THREAD");
    const char *every = getenv("MALLOC_COUNT_SAMPLE");
    if (every && atoi(every) > 0) sample_every = (uint64_t)atoi(every);
}

static void sample_stack(void) {
    void *frames[DEPTH + 2];
    int n = backtrace(frames, DEPTH + 2);
    if (n <= 2) return;
    // Drop this function and the hook.
    void **f = frames + 2;
    n -= 2;
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)(uintptr_t)f[i]) * 1099511628211ULL;
    pthread_mutex_lock(&stack_lock);
    for (int probe = 0; probe < MAX_STACKS; probe++) {
        struct stack *s = &stacks[(h + probe) % MAX_STACKS];
        if (s->count == 0) {
            s->hash = h;
            s->depth = n;
            memcpy(s->frames, f, sizeof(void *) * n);
        }
        if (s->hash == h) {
            s->count++;
            break;
        }
    }
    pthread_mutex_unlock(&stack_lock);
}

static inline void count(void) {
    if (in_hook) return;
    in_hook = 1;
    if (my_slot < 0) {
        int s = atomic_fetch_add(&slot_count, 1);
        my_slot = s < MAX_THREADS ? s : MAX_THREADS - 1;
    }
    atomic_fetch_add_explicit(&slots[my_slot].count, 1, memory_order_relaxed);
    // Threads name themselves after they start: read the name now and then.
    if ((name_tick++ & 1023) == 0) prctl(PR_GET_NAME, slots[my_slot].name, 0, 0, 0);
    if (trace_thread && (++sample_tick % sample_every) == 0) {
        char name[16] = {0};
        prctl(PR_GET_NAME, name, 0, 0, 0);
        if (strcmp(trace_thread, "*") == 0 || strcmp(name, trace_thread) == 0) sample_stack();
    }
    in_hook = 0;
}

void *malloc(size_t size) {
    init();
    count();
    return real_malloc(size);
}

void *calloc(size_t n, size_t size) {
    if (!real_calloc) {
        // Called from dlsym during init.
        size_t bytes = (n * size + 15) & ~(size_t)15;
        if (bootstrap_used + bytes > sizeof bootstrap_arena) return NULL;
        void *p = bootstrap_arena + bootstrap_used;
        bootstrap_used += bytes;
        return p;
    }
    count();
    return real_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    init();
    count();
    return real_realloc(p, size);
}

void free(void *p);
static void (*real_free)(void *);
void free(void *p) {
    if ((char *)p >= bootstrap_arena && (char *)p < bootstrap_arena + sizeof bootstrap_arena) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    init();
    count();
    return real_posix_memalign(out, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    init();
    count();
    return real_aligned_alloc(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    init();
    count();
    return real_memalign(alignment, size);
}

/// Names every thread that allocated since the last call (names are read now: threads name
/// themselves after starting) and prints, per thread name, the allocations since the last call,
/// divided by `records` (0: raw counts). With tracing on, prints the sampled stacks too and resets them.
void malloc_count_report(const char *label, uint64_t records) {
    in_hook = 1;
    int n = atomic_load(&slot_count);
    if (n > MAX_THREADS) n = MAX_THREADS;
    // Merge by name (librdkafka has one thread per broker connection, all "rdk:broker...").
    struct { char name[16]; uint64_t delta; } merged[64];
    int m = 0;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        uint64_t c = atomic_load(&slots[i].count);
        uint64_t d = c - slots[i].reported;
        slots[i].reported = c;
        if (d == 0) continue;
        total += d;
        char name[16];
        if (slots[i].name[0] == 0) snprintf(slots[i].name, sizeof slots[i].name, "thread-%d", i);
        memcpy(name, slots[i].name, 16);
        // Group librdkafka's broker threads (rdk:broker1, rdk:broker-1, ...).
        if (strncmp(name, "rdk:broker", 10) == 0) name[10] = 0;
        int j = 0;
        for (; j < m; j++) if (strcmp(merged[j].name, name) == 0) break;
        if (j == m && m < 64) { memcpy(merged[m].name, name, 16); merged[m].delta = 0; m++; }
        if (j < 64) merged[j].delta += d;
    }
    fprintf(stderr, "[malloc-count] %s: %llu allocations", label, (unsigned long long)total);
    if (records) fprintf(stderr, " = %.2f per record", (double)total / (double)records);
    fprintf(stderr, "\n");
    for (int j = 0; j < m; j++) {
        fprintf(stderr, "[malloc-count]   %-16s %12llu", merged[j].name, (unsigned long long)merged[j].delta);
        if (records) fprintf(stderr, "  %8.3f per record", (double)merged[j].delta / (double)records);
        fprintf(stderr, "\n");
    }
    if (trace_thread) {
        pthread_mutex_lock(&stack_lock);
        for (int round = 0; round < 30; round++) {
            int best = -1;
            for (int i = 0; i < MAX_STACKS; i++)
                if (stacks[i].count && (best < 0 || stacks[i].count > stacks[best].count)) best = i;
            if (best < 0) break;
            fprintf(stderr, "[malloc-count] stack on '%s': %llu samples (~%llu allocations",
                    trace_thread, (unsigned long long)stacks[best].count,
                    (unsigned long long)(stacks[best].count * sample_every));
            if (records) fprintf(stderr, ", %.3f per record", (double)(stacks[best].count * sample_every) / (double)records);
            fprintf(stderr, ")\n");
            backtrace_symbols_fd(stacks[best].frames, stacks[best].depth, 2);
            stacks[best].count = 0;
            stacks[best].hash = 0;
        }
        memset(stacks, 0, sizeof stacks);
        pthread_mutex_unlock(&stack_lock);
    }
    in_hook = 0;
}

__attribute__((constructor)) static void start(void) { init(); }
