#!/bin/sh
# Creates persona-dna's six topics with Apache Kafka's kafka-topics.sh and
# checks that the co-partitioned ones match the input topic.
#
# usage: topics.sh [-b BOOTSTRAP] [-p PARTITIONS] [-r REPLICATION_FACTOR]
#                  [-m MIN_INSYNC_REPLICAS] [-c COMMAND_CONFIG]
#
#   -b  bootstrap servers           env BOOTSTRAP_SERVERS   (localhost:9092)
#   -p  partitions of every topic   env PARTITIONS          (12)
#   -r  replication factor          env REPLICATION_FACTOR  (3)
#   -m  min.insync.replicas         env MIN_INSYNC_REPLICAS (2)
#   -c  client properties file for the admin client (SASL_SSL etc.),
#       passed as --command-config  env COMMAND_CONFIG      (none)
#   env KAFKA_TOPICS: the kafka-topics.sh to run (default: kafka-topics.sh
#       on PATH, else /opt/kafka/bin/kafka-topics.sh as in apache/kafka)
#   env TOPIC_INPUT, TOPIC_PERSONA, TOPIC_PARTITION_STATE, TOPIC_PLANS,
#       TOPIC_ACTIONS, TOPIC_DLQ: topic names, if not the defaults.
#
# The partition count of customer.persona and persona-dna.partition-state
# MUST equal that of customer.lifecycle: a changelog record goes to the same
# partition number as the input that caused it, and the worker refuses to
# start when the counts differ. Choose the count with room to grow: adding
# partitions later moves customers between partitions and needs a planned
# migration (all three topics together, workers stopped).
#
# Idempotent: an existing topic is left as it is (--if-not-exists), then the
# co-partitioning and the changelogs' compaction are checked; exit 1 if either
# does not hold.
#
# POSIX sh, so it also runs in the apache/kafka image (Alpine).
set -eu

BOOTSTRAP_SERVERS=${BOOTSTRAP_SERVERS:-localhost:9092}
PARTITIONS=${PARTITIONS:-12}
REPLICATION_FACTOR=${REPLICATION_FACTOR:-3}
MIN_INSYNC_REPLICAS=${MIN_INSYNC_REPLICAS:-2}
COMMAND_CONFIG=${COMMAND_CONFIG:-}

TOPIC_INPUT=${TOPIC_INPUT:-customer.lifecycle}
TOPIC_PERSONA=${TOPIC_PERSONA:-customer.persona}
TOPIC_PARTITION_STATE=${TOPIC_PARTITION_STATE:-persona-dna.partition-state}
TOPIC_PLANS=${TOPIC_PLANS:-customer.plans}
TOPIC_ACTIONS=${TOPIC_ACTIONS:-customer.actions}
TOPIC_DLQ=${TOPIC_DLQ:-customer.lifecycle.dlq}

usage() {
        sed -n '2,17s/^# \{0,1\}//p' "$0" >&2
        exit 2
}

while getopts b:p:r:m:c:h opt; do
        case $opt in
        b) BOOTSTRAP_SERVERS=$OPTARG ;;
        p) PARTITIONS=$OPTARG ;;
        r) REPLICATION_FACTOR=$OPTARG ;;
        m) MIN_INSYNC_REPLICAS=$OPTARG ;;
        c) COMMAND_CONFIG=$OPTARG ;;
        *) usage ;;
        esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

for n in "$PARTITIONS" "$REPLICATION_FACTOR" "$MIN_INSYNC_REPLICAS"; do
        case $n in
        '' | *[!0-9]* | 0*)
                echo "topics.sh: '$n' is not a positive integer" >&2
                exit 2
                ;;
        esac
done
if [ "$MIN_INSYNC_REPLICAS" -gt "$REPLICATION_FACTOR" ]; then
        echo "topics.sh: min.insync.replicas $MIN_INSYNC_REPLICAS >" \
                "replication factor $REPLICATION_FACTOR: no write could" \
                "ever succeed" >&2
        exit 2
fi

if [ -z "${KAFKA_TOPICS:-}" ]; then
        if command -v kafka-topics.sh >/dev/null 2>&1; then
                KAFKA_TOPICS=kafka-topics.sh
        else
                KAFKA_TOPICS=/opt/kafka/bin/kafka-topics.sh
        fi
fi

# kafka-topics.sh with the bootstrap servers and, if given, the client
# properties for the admin connection.
kt() {
        if [ -n "$COMMAND_CONFIG" ]; then
                "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP_SERVERS" \
                        --command-config "$COMMAND_CONFIG" "$@"
        else
                "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP_SERVERS" "$@"
        fi
}

# create TOPIC [--config k=v]...
create() {
        topic=$1
        shift
        echo "topic $topic: partitions=$PARTITIONS" \
                "replication-factor=$REPLICATION_FACTOR $*"
        kt --create --if-not-exists --topic "$topic" \
                --partitions "$PARTITIONS" \
                --replication-factor "$REPLICATION_FACTOR" \
                --config "min.insync.replicas=$MIN_INSYNC_REPLICAS" "$@"
}

# describe TOPIC: the topic's summary line of --describe, e.g.
# "Topic: t<TAB>TopicId: ..<TAB>PartitionCount: 12<TAB>ReplicationFactor: 3<TAB>Configs: ..".
describe() {
        kt --describe --topic "$1" | awk '/PartitionCount:/ && !n++' || true
}

# partition_count LINE: the PartitionCount of a describe() line.
partition_count() {
        printf '%s\n' "$1" |
                sed -n 's/.*PartitionCount:[[:space:]]*\([0-9][0-9]*\).*/\1/p'
}

# Input, outputs and dead letters: deleted by retention (broker default,
# 7 days, unless set here with --config retention.ms=...).
create "$TOPIC_INPUT"
create "$TOPIC_PLANS"
create "$TOPIC_ACTIONS"
create "$TOPIC_DLQ"
# The two changelogs are the source of truth of the workers' state: compacted,
# never deleted by time.
create "$TOPIC_PERSONA" --config cleanup.policy=compact
create "$TOPIC_PARTITION_STATE" --config cleanup.policy=compact

want=$(partition_count "$(describe "$TOPIC_INPUT")")
if [ -z "$want" ]; then
        echo "topics.sh: cannot read the partition count of $TOPIC_INPUT" >&2
        exit 1
fi
[ "$want" = "$PARTITIONS" ] ||
        echo "topics.sh: note: $TOPIC_INPUT already existed with $want" \
                "partitions (asked for $PARTITIONS); checking against $want" >&2
status=0
for t in "$TOPIC_PERSONA" "$TOPIC_PARTITION_STATE"; do
        line=$(describe "$t")
        got=$(partition_count "$line")
        if [ "$got" != "$want" ]; then
                echo "topics.sh: $t has ${got:-no} partitions, $TOPIC_INPUT" \
                        "has $want: they must be equal, the worker will not" \
                        "start" >&2
                status=1
        fi
        case $line in
        *cleanup.policy=compact*) ;;
        *)
                echo "topics.sh: $t is not compacted (no" \
                        "cleanup.policy=compact in its topic configs): the" \
                        "changelog would lose state to retention; fix with" \
                        "kafka-configs.sh --alter --entity-type topics" \
                        "--entity-name $t --add-config cleanup.policy=compact" >&2
                status=1
                ;;
        esac
done
[ $status -ne 0 ] || echo "ok: $TOPIC_INPUT, $TOPIC_PERSONA and" \
        "$TOPIC_PARTITION_STATE have $want partitions each; changelogs compacted"
exit $status
