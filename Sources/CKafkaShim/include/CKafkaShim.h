// Fixed-arity wrappers over librdkafka's variadic calls, and C trampolines that forward
// librdkafka callbacks to Swift through one context struct set as the configuration opaque.
//
// Swift cannot call C variadic functions such as rd_kafka_producev(), so every variadic call
// the Kafka layer needs has a wrapper here with a fixed parameter list.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Callbacks forwarded to Swift. One instance lives as long as the rd_kafka_t it is attached to;
/// its owner (the Swift client object) keeps it alive and frees it after rd_kafka_destroy() returns.
/// Any function pointer may be NULL, in which case librdkafka's default behaviour applies
/// (for rebalance: a plain assign / unassign, chosen by the rebalance protocol).
typedef struct shim_callbacks {
    void *context;
    void (*rebalance)(void *context, rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *partitions);
    void (*delivery)(void *context, rd_kafka_t *rk, const rd_kafka_message_t *message);
    void (*statistics)(void *context, rd_kafka_t *rk, const char *json, size_t json_len);
    void (*error)(void *context, rd_kafka_t *rk, int err, const char *reason);
    void (*log)(void *context, const rd_kafka_t *rk, int level, const char *facility,
                const char *message);
} shim_callbacks_t;

/// Installs the trampolines on `conf` and sets `callbacks` as the configuration opaque.
/// Only the callbacks whose pointer is non-NULL are installed.
void shim_conf_set_callbacks(rd_kafka_conf_t *conf, shim_callbacks_t *callbacks);

/// rd_kafka_producev() with a fixed parameter list.
/// `key` and `value` may be NULL (a NULL value is a tombstone). The bytes are copied
/// (RD_KAFKA_MSG_F_COPY) so the caller may reuse its buffers at once. `partition` is
/// RD_KAFKA_PARTITION_UA to let the configured partitioner choose. `timestamp_ms` 0 means "now".
/// `headers` may be NULL; on success librdkafka owns it, on failure the caller must destroy it.
/// `block` adds RD_KAFKA_MSG_F_BLOCK: wait for queue space instead of failing with __QUEUE_FULL.
rd_kafka_resp_err_t shim_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                 const void *key, size_t key_len,
                                 const void *value, size_t value_len,
                                 rd_kafka_headers_t *headers, int64_t timestamp_ms,
                                 void *msg_opaque, int block);

/// rd_kafka_mock_push_request_errors() for `count` repetitions of one error.
void shim_mock_push_request_errors(rd_kafka_mock_cluster_t *mcluster, int16_t api_key,
                                   size_t count, rd_kafka_resp_err_t err);

/// rd_kafka_mock_broker_push_request_error_rtts() for one (error, rtt) pair.
rd_kafka_resp_err_t shim_mock_broker_push_request_error_rtt(rd_kafka_mock_cluster_t *mcluster,
                                                            int32_t broker_id, int16_t api_key,
                                                            rd_kafka_resp_err_t err, int rtt_ms);

/// A wake-up flag for a polling thread: set by librdkafka's queue events (or by the application),
/// waited on and cleared by the poller. The flag stays set until the next wait, so a signal sent
/// between the poller's last check and its wait is never lost.
typedef struct shim_waker shim_waker_t;

/// A new, unsignalled waker (NULL if out of memory). Free with shim_waker_free().
shim_waker_t *shim_waker_new(void);
/// Frees a waker. No queue may still signal it (see shim_queue_set_waker()).
void shim_waker_free(shim_waker_t *waker);
/// Sets the flag and wakes a waiting poller. Any thread.
void shim_waker_signal(shim_waker_t *waker);
/// Waits until the flag is set or `timeout_ms` passes, then clears it. Returns 1 if it was set.
int shim_waker_wait(shim_waker_t *waker, int timeout_ms);

/// Signals `waker` whenever `queue` goes from empty to non-empty (rd_kafka_queue_cb_event_enable;
/// the callback runs on a librdkafka thread and only sets the flag). A NULL waker disables it.
void shim_queue_set_waker(rd_kafka_queue_t *queue, shim_waker_t *waker);

#ifdef __cplusplus
}
#endif
