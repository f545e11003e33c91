#include "CKafkaShim.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

static void destroy_error(rd_kafka_error_t *error) {
    if (error) rd_kafka_error_destroy(error);
}

static void shim_rebalance_trampoline(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t *partitions, void *opaque) {
    shim_callbacks_t *cb = (shim_callbacks_t *)opaque;
    if (cb && cb->rebalance) {
        cb->rebalance(cb->context, rk, err, partitions);
        return;
    }
    /* Defensive default: librdkafka requires the callback to (un)assign. */
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (cooperative) destroy_error(rd_kafka_incremental_assign(rk, partitions));
        else rd_kafka_assign(rk, partitions);
    } else {
        if (cooperative) destroy_error(rd_kafka_incremental_unassign(rk, partitions));
        else rd_kafka_assign(rk, NULL);
    }
}

static void shim_delivery_trampoline(rd_kafka_t *rk, const rd_kafka_message_t *message,
                                     void *opaque) {
    shim_callbacks_t *cb = (shim_callbacks_t *)opaque;
    if (cb && cb->delivery) cb->delivery(cb->context, rk, message);
}

static int shim_stats_trampoline(rd_kafka_t *rk, char *json, size_t json_len, void *opaque) {
    shim_callbacks_t *cb = (shim_callbacks_t *)opaque;
    if (cb && cb->statistics) cb->statistics(cb->context, rk, json, json_len);
    return 0; /* librdkafka frees json */
}

static void shim_error_trampoline(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    shim_callbacks_t *cb = (shim_callbacks_t *)opaque;
    if (cb && cb->error) cb->error(cb->context, rk, err, reason);
}

static void shim_log_trampoline(const rd_kafka_t *rk, int level, const char *fac,
                                const char *buf) {
    shim_callbacks_t *cb = (shim_callbacks_t *)rd_kafka_opaque(rk);
    if (cb && cb->log) cb->log(cb->context, rk, level, fac, buf);
}

void shim_conf_set_callbacks(rd_kafka_conf_t *conf, shim_callbacks_t *callbacks) {
    rd_kafka_conf_set_opaque(conf, callbacks);
    if (callbacks->rebalance) rd_kafka_conf_set_rebalance_cb(conf, shim_rebalance_trampoline);
    if (callbacks->delivery) rd_kafka_conf_set_dr_msg_cb(conf, shim_delivery_trampoline);
    if (callbacks->statistics) rd_kafka_conf_set_stats_cb(conf, shim_stats_trampoline);
    if (callbacks->error) rd_kafka_conf_set_error_cb(conf, shim_error_trampoline);
    if (callbacks->log) rd_kafka_conf_set_log_cb(conf, shim_log_trampoline);
}

rd_kafka_resp_err_t shim_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                 const void *key, size_t key_len,
                                 const void *value, size_t value_len,
                                 rd_kafka_headers_t *headers, int64_t timestamp_ms,
                                 void *msg_opaque, int block) {
    int flags = RD_KAFKA_MSG_F_COPY | (block ? RD_KAFKA_MSG_F_BLOCK : 0);
    if (headers) {
        return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                 RD_KAFKA_V_MSGFLAGS(flags),
                                 RD_KAFKA_V_KEY((void *)key, key_len),
                                 RD_KAFKA_V_VALUE((void *)value, value_len),
                                 RD_KAFKA_V_HEADERS(headers),
                                 RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                                 RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(flags),
                             RD_KAFKA_V_KEY((void *)key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                             RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
}

void shim_mock_push_request_errors(rd_kafka_mock_cluster_t *mcluster, int16_t api_key,
                                   size_t count, rd_kafka_resp_err_t err) {
    if (count == 0) return;
    rd_kafka_resp_err_t *errors = malloc(sizeof(*errors) * count);
    if (!errors) return;
    for (size_t i = 0; i < count; i++) errors[i] = err;
    rd_kafka_mock_push_request_errors_array(mcluster, api_key, count, errors);
    free(errors);
}

rd_kafka_resp_err_t shim_mock_broker_push_request_error_rtt(rd_kafka_mock_cluster_t *mcluster,
                                                            int32_t broker_id, int16_t api_key,
                                                            rd_kafka_resp_err_t err, int rtt_ms) {
    return rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, api_key, 1, err,
                                                        rtt_ms);
}

struct shim_waker {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int signalled;
};

shim_waker_t *shim_waker_new(void) {
    shim_waker_t *waker = calloc(1, sizeof(*waker));
    if (!waker) return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&waker->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&waker->mutex, NULL);
    return waker;
}

void shim_waker_free(shim_waker_t *waker) {
    if (!waker) return;
    pthread_cond_destroy(&waker->cond);
    pthread_mutex_destroy(&waker->mutex);
    free(waker);
}

void shim_waker_signal(shim_waker_t *waker) {
    pthread_mutex_lock(&waker->mutex);
    waker->signalled = 1;
    pthread_cond_signal(&waker->cond);
    pthread_mutex_unlock(&waker->mutex);
}

int shim_waker_wait(shim_waker_t *waker, int timeout_ms) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&waker->mutex);
    while (!waker->signalled) {
        if (pthread_cond_timedwait(&waker->cond, &waker->mutex, &deadline) == ETIMEDOUT) break;
    }
    int signalled = waker->signalled;
    waker->signalled = 0;
    pthread_mutex_unlock(&waker->mutex);
    return signalled;
}

/* Runs on a librdkafka thread with the queue's lock held: only set the flag. */
static void shim_queue_event(rd_kafka_t *rk, void *opaque) {
    (void)rk;
    shim_waker_signal((shim_waker_t *)opaque);
}

void shim_queue_set_waker(rd_kafka_queue_t *queue, shim_waker_t *waker) {
    if (waker) rd_kafka_queue_cb_event_enable(queue, shim_queue_event, waker);
    else rd_kafka_queue_cb_event_enable(queue, NULL, NULL);
}
