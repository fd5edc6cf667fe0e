#!/bin/bash
# A broken model file stops the worker: `persona-dna --check` and the worker
# itself exit non-zero naming file:line: key: reason, for each way a model
# can be broken (bad JSON, unknown axis, missing required key, bad band).
# usage: broken_model.sh PERSONA_DNA SOURCE_DIR
set -u
bin=$1
src=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

# name | line:key: reason expected | model text
cases=(
  "json|3: (json): |{\n  \"version\": 1,\n  \"half_life_days\": ,\n}"
  "axis|5: products.GTX Pro.technicl: unknown axis|{\n  \"version\": 1,\n  \"half_life_days\": 180,\n  \"hysteresis\": 1.5,\n  \"products\": {\"GTX Pro\": {\"technicl\": 1}}\n}"
  "version|1: version: required integer >= 1|{\n  \"half_life_days\": 180,\n  \"hysteresis\": 1.5\n}"
  "band|6: renewals.annual_value[0].min: above max|{\n  \"version\": 2,\n  \"half_life_days\": 180,\n  \"hysteresis\": 1.5,\n  \"renewals\": {\"annual_value\": [\n    {\"name\": \"x\", \"min\": 9, \"max\": 1, \"weights\": {}}]}\n}"
  "section|5: renewals.auto_renw: unknown key|{\n  \"version\": 2,\n  \"half_life_days\": 180,\n  \"hysteresis\": 1.5,\n  \"renewals\": {\"auto_renw\": {}}\n}"
)

expect() { # what, status, output, wanted
        if [ "$2" -eq 0 ]; then
                echo "FAIL $1: exit 0"
                fail=1
        elif ! grep -qF -- "$4" <<<"$3"; then
                echo "FAIL $1: exit $2 without '$4' in:"
                echo "$3"
                fail=1
        else
                echo "ok   $1: exit $2: $(grep -F -- "$4" <<<"$3" | head -1)"
        fi
}

for c in "${cases[@]}"; do
        name=${c%%|*}
        rest=${c#*|}
        want=${rest%%|*}
        text=${rest#*|}
        model="$dir/$name.json"
        printf '%b\n' "$text" >"$model"
        out=$("$bin" --check -X "model.path=$model" \
                -X "templates.path=$src/model/plan-templates.json" \
                -X "roster.path=$src/model/roster.json" 2>&1)
        expect "--check $name" $? "$out" "$model:$want"
        # The worker itself: it must stop before it reaches any broker (the
        # bootstrap address is unreachable) and say why.
        out=$(timeout 30 "$bin" -X "model.path=$model" \
                -X "templates.path=$src/model/plan-templates.json" \
                -X "roster.path=$src/model/roster.json" \
                -X bootstrap.servers=127.0.0.1:1 \
                -X "store.path=$dir/store-$name" 2>&1)
        st=$?
        [ $st -eq 124 ] && { echo "FAIL worker $name: still running"; fail=1; continue; }
        expect "worker $name" $st "$out" "$model:$want"
done

# The shipped model passes.
if ! "$bin" --check -X "model.path=$src/model/persona-model.json" \
        -X "templates.path=$src/model/plan-templates.json" \
        -X "roster.path=$src/model/roster.json" >/dev/null 2>&1; then
        echo "FAIL shipped model does not pass --check"
        fail=1
fi
exit $fail
