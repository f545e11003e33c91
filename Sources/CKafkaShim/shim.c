#include "CKafkaShim.h"

#include <stdlib.h>
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
