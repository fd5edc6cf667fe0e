/* persona-dna: the Avro codec (the only module that includes avro.h).
 *
 * Wire format on every topic: the Confluent Schema Registry framing, so
 * kcat -s avro, Kafka Connect and Confluent deserializers read it: one magic
 * byte 0x00, the schema id as a 4-byte big-endian integer, then the Avro
 * binary encoding of one datum.  Schema ids are configuration
 * (schema.id.*); with a registry, register the files in schemas/ under those ids.
 * The LMDB store holds the same bytes as the changelog. */
#ifndef PD_CODEC_H
#define PD_CODEC_H

#include <stdint.h>

#include "buf.h"
#include "domain.h"
#include "err.h"
#include "planner.h"

typedef enum pd_schema_e {
        PD_SCHEMA_LIFECYCLE = 0, /* LifecycleEvent */
        PD_SCHEMA_MARKER,        /* PersonaMarker */
        PD_SCHEMA_PLAN,          /* PlanAssigned */
        PD_SCHEMA_ACTION,        /* ActionRequested */
        PD_SCHEMA_PSTATE,        /* PartitionState */
        PD_SCHEMA__CNT
} pd_schema_t;

typedef struct pd_codec_s pd_codec_t;

/* Parses the embedded schemas.  ids[] gives the wire schema id of each
 * schema (NULL: 1..5 in pd_schema_t order).  Returns new. */
pd_err_t pd_codec_new(const int32_t *ids, pd_codec_t **codecp, char *errstr,
                      size_t errstr_size);
void pd_codec_destroy(pd_codec_t *codec);

/* The schema's JSON text (borrowed, static). */
const char *pd_codec_schema_json(pd_schema_t schema);

/* Decoders: borrow buf for the call; every string of the result is copied
 * into arena.  On failure return PD_ERR_DECODE (framing, schema id,
 * truncated or malformed Avro) or PD_ERR_INVALID (decoded but a field breaks
 * the contract: empty id, bad UUID, ...) with errstr naming the step or the
 * field, e.g. "payload.SurveyReturned.score: 11 outside 0-10". */
pd_err_t pd_codec_event_decode(pd_codec_t *codec, const void *buf, size_t len,
                               pd_arena_t *arena, pd_event_t *ev,
                               char *errstr, size_t errstr_size);
pd_err_t pd_codec_marker_decode(pd_codec_t *codec, const void *buf,
                                size_t len, pd_arena_t *arena,
                                pd_marker_t *marker, char *errstr,
                                size_t errstr_size);
pd_err_t pd_codec_pstate_decode(pd_codec_t *codec, const void *buf,
                                size_t len, pd_arena_t *arena,
                                pd_pstate_t *pstate, char *errstr,
                                size_t errstr_size);
pd_err_t pd_codec_plan_decode(pd_codec_t *codec, const void *buf, size_t len,
                              pd_arena_t *arena, pd_plan_t *plan,
                              char *errstr, size_t errstr_size);
pd_err_t pd_codec_action_decode(pd_codec_t *codec, const void *buf,
                                size_t len, pd_arena_t *arena,
                                pd_action_t *action, char *errstr,
                                size_t errstr_size);

/* Encoders: fill out (reset first) with the framed bytes. */
pd_err_t pd_codec_event_encode(pd_codec_t *codec, const pd_event_t *ev,
                               pd_buf_t *out);
pd_err_t pd_codec_marker_encode(pd_codec_t *codec, const pd_marker_t *marker,
                                pd_buf_t *out);
pd_err_t pd_codec_pstate_encode(pd_codec_t *codec, const pd_pstate_t *pstate,
                                pd_buf_t *out);
pd_err_t pd_codec_plan_encode(pd_codec_t *codec, const pd_plan_t *plan,
                              pd_buf_t *out);
pd_err_t pd_codec_action_encode(pd_codec_t *codec, const pd_action_t *action,
                                pd_buf_t *out);

/* Checks an event decoded or built elsewhere against the contract (ids
 * present, score in scale, ...): PD_ERR_INVALID with the field named. */
pd_err_t pd_event_validate(const pd_event_t *ev, char *errstr,
                           size_t errstr_size);

#endif
