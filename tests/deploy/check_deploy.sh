#!/usr/bin/env bash
# Checks deploy/ with what runs on a machine without Docker, Kubernetes or a
# Java Kafka: every configuration a deployment hands the worker (the image's
# properties file, the ConfigMap, the compose, StatefulSet and systemd
# command lines) goes through `persona-dna --check` (librdkafka accepts the
# properties, the model, templates and roster load); the YAML parses; the
# StatefulSet mounts the ConfigMap it ships; compose gives every worker its
# own instance.id and store; the systemd units verify; the shell scripts pass
# shellcheck; the Dockerfile copies files that exist; topics.sh creates the
# topics the worker reads and writes by default.
#
#   check_deploy.sh PERSONA_DNA_BINARY SOURCE_DIR
set -euo pipefail
bin=$(readlink -f "$1")
src=$2
dep="$src/deploy"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() {
        passed=$((passed + 1))
        echo "ok   $1"
}
bad() {
        failed=$((failed + 1))
        echo "FAIL $1"
        [ -s "$tmp/out" ] && sed 's/^/     /' "$tmp/out"
        return 0
}
# check NAME CMD...: runs CMD, passes when it exits 0.
check() {
        local name=$1
        shift
        if "$@" > "$tmp/out" 2>&1; then ok "$name"; else bad "$name"; fi
}

# The image installs the model under /etc/persona-dna/model (Dockerfile);
# here it is the repo's model/ directory.
model_args=(-X "model.path=$src/model/persona-model.json"
        -X "templates.path=$src/model/plan-templates.json"
        -X "roster.path=$src/model/roster.json")
image_conf="$dep/persona-dna.properties"

# worker_check NAME ARGS...: `persona-dna --check` on the arguments a
# deployment passes after the image's entrypoint (-c the image's file).
worker_check() {
        local name=$1
        shift
        check "$name" "$bin" --check -c "$image_conf" "$@" "${model_args[@]}"
}

yaml() { /usr/bin/python3 -c 'import sys, yaml; exec(sys.argv[1])' "$@"; }

# ---- the image's properties file
worker_check "deploy/persona-dna.properties: persona-dna --check"
grep -q '^ENTRYPOINT \["persona-dna", "-c", "/etc/persona-dna/persona-dna.properties"\]' \
        "$dep/Dockerfile" > "$tmp/out" 2>&1 &&
        ok "Dockerfile: entrypoint reads /etc/persona-dna/persona-dna.properties" ||
        bad "Dockerfile: entrypoint reads /etc/persona-dna/persona-dna.properties"

# ---- Dockerfile: every COPY source outside the build stage exists
: > "$tmp/out"
missing=0
while read -r srcs; do
        for s in $srcs; do
                [ -e "$src/$s" ] || { echo "COPY source $s does not exist" >> "$tmp/out"; missing=1; }
        done
done < <(sed -n 's/^COPY \([^-][^ ]*\( [^ ]*\)*\) [^ ]*$/\1/p' "$dep/Dockerfile")
[ "$missing" = 0 ] && ok "Dockerfile: COPY sources exist" || bad "Dockerfile: COPY sources exist"

# ---- Dockerfile: the builder stage on a tree of only what it copies
# (no tests/, no cmocka needed) configures and builds its two targets.
: > "$tmp/out"
mkdir -p "$tmp/ctx"
while read -r srcs; do
        for s in $srcs; do
                [ -e "$src/$s" ] && cp -r "$src/$s" "$tmp/ctx/"
        done
done < <(sed -n 's/^COPY \([^-][^ ]*\( [^ ]*\)*\) [^ ]*$/\1/p' "$dep/Dockerfile")
cmake_args=$(sed -n 's/^RUN cmake -S \/src -B \/build \(.*\) \\$/\1/p' "$dep/Dockerfile")
# shellcheck disable=SC2086 # the Dockerfile's own words
if cmake -S "$tmp/ctx" -B "$tmp/ctx-build" $cmake_args > "$tmp/out" 2>&1 &&
        cmake --build "$tmp/ctx-build" --target persona-dna pd-inspect -j "$(nproc)" >> "$tmp/out" 2>&1; then
        ok "Dockerfile: the builder's tree ($cmake_args) builds persona-dna and pd-inspect"
else
        bad "Dockerfile: the builder's tree ($cmake_args) builds persona-dna and pd-inspect"
fi

# ---- Kubernetes
check "k8s: every manifest parses as YAML" yaml '
import glob
for f in sorted(glob.glob(sys.argv[2] + "/k8s/*.yaml")):
    list(yaml.safe_load_all(open(f)))
' "$dep"
yaml '
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[2] + "/k8s/configmap.yaml")) if d}
open(sys.argv[3], "w").write(docs["ConfigMap"]["data"]["persona-dna.properties"])
' "$dep" "$tmp/configmap.properties"
yaml '
st = [d for d in yaml.safe_load_all(open(sys.argv[2] + "/k8s/statefulset.yaml")) if d and d["kind"] == "StatefulSet"][0]
c = st["spec"]["template"]["spec"]["containers"][0]
open(sys.argv[3], "w").write("\n".join(a.replace("$(POD_NAME)", "persona-dna-0") for a in c.get("args", [])) + "\n")
' "$dep" "$tmp/statefulset.args"
mapfile -t st_args < "$tmp/statefulset.args"
check "k8s: ConfigMap properties + StatefulSet args: persona-dna --check" \
        "$bin" --check -c "$tmp/configmap.properties" "${st_args[@]}" "${model_args[@]}"
check "k8s: the StatefulSet mounts the ConfigMap over the image's properties file" yaml '
cm = [d for d in yaml.safe_load_all(open(sys.argv[2] + "/k8s/configmap.yaml")) if d][0]["metadata"]["name"]
st = [d for d in yaml.safe_load_all(open(sys.argv[2] + "/k8s/statefulset.yaml")) if d and d["kind"] == "StatefulSet"][0]
pod = st["spec"]["template"]["spec"]
vols = {v["name"]: v for v in pod["volumes"]}
mounts = pod["containers"][0]["volumeMounts"]
hit = [m for m in mounts if vols.get(m["name"], {}).get("configMap", {}).get("name") == cm]
assert hit, "no volumeMount of ConfigMap %s" % cm
m = hit[0]
path = m["mountPath"] + ("" if m.get("subPath") else "/persona-dna.properties")
assert path.rstrip("/").endswith("/etc/persona-dna/persona-dna.properties") or m["mountPath"] == "/etc/persona-dna/persona-dna.properties", path
' "$dep"
if command -v kubectl > /dev/null; then
        check "k8s: kubectl kustomize deploy/k8s renders" kubectl kustomize "$dep/k8s"
fi

# ---- compose
check "compose: parses; every worker has its own instance.id and store volume" yaml '
c = yaml.safe_load(open(sys.argv[2] + "/docker-compose.yml"))
workers = {n: s for n, s in c["services"].items() if n.startswith("worker")}
assert len(workers) >= 2, "expected two workers"
ids, vols = set(), set()
for n, s in workers.items():
    cmd = s["command"]
    iid = [cmd[i + 1] for i in range(len(cmd) - 1) if cmd[i] == "-X" and cmd[i + 1].startswith("instance.id=")]
    assert len(iid) == 1, n + ": no instance.id"
    assert iid[0] not in ids, n + ": instance.id shared"
    ids.add(iid[0])
    store = [v for v in s["volumes"] if v.endswith(":/var/lib/persona-dna")]
    assert len(store) == 1 and store[0] not in vols, n + ": store volume"
    vols.add(store[0])
    open(sys.argv[3] + "/" + n + ".args", "w").write("\n".join(cmd) + "\n")
' "$dep" "$tmp"
for f in "$tmp"/worker*.args; do
        [ -e "$f" ] || continue
        mapfile -t c_args < "$f"
        worker_check "compose $(basename "$f" .args): persona-dna --check" "${c_args[@]}"
done

# ---- systemd
for unit in "$dep"/systemd/*.service; do
        name=$(basename "$unit")
        line=$(sed -n 's/^ExecStart=//p' "$unit" | head -n 1)
        # persona-dna@N: %H is the host, %i the instance.
        line=${line//%H/host}
        line=${line//%i/1}
        read -r -a words <<< "$line"
        args=()
        for w in "${words[@]:1}"; do
                [ "$w" = /etc/persona-dna/persona-dna.properties ] && w=$image_conf
                args+=("$w")
        done
        check "systemd $name: ExecStart arguments: persona-dna --check" \
                "$bin" --check "${args[@]}" "${model_args[@]}"
        if command -v systemd-analyze > /dev/null; then
                sed "s#/usr/local/bin/persona-dna#$bin#" "$unit" > "$tmp/$name"
                # verify prints problems but exits 0 for some; any output about
                # this unit is a failure.
                if systemd-analyze verify "$tmp/$name" > "$tmp/out" 2>&1 &&
                        ! grep -q "$name" "$tmp/out"; then
                        ok "systemd $name: systemd-analyze verify"
                else
                        bad "systemd $name: systemd-analyze verify"
                fi
        fi
done

# ---- scripts
check "shellcheck (warnings): deploy/topics.sh and tools/ scripts" shellcheck -S warning \
        "$dep/topics.sh" "$src/tools/demo" "$src/tools/test" "$src/tools/deps.sh" \
        "$src/tools/fuzz"
: > "$tmp/out"
"$bin" --help-markdown > "$tmp/help.md"
topics_ok=1
for t in customer.lifecycle customer.persona persona-dna.partition-state customer.plans \
        customer.actions customer.lifecycle.dlq; do
        grep -q "| \`$t\` |" "$tmp/help.md" || { echo "$t is no default of the worker" >> "$tmp/out"; topics_ok=0; }
        grep -q "$t" "$dep/topics.sh" || { echo "topics.sh does not create $t" >> "$tmp/out"; topics_ok=0; }
done
[ "$topics_ok" = 1 ] && ok "topics.sh creates the worker's six default topics" ||
        bad "topics.sh creates the worker's six default topics"

# ---- a broken configuration is refused (the checks above can fail)
if "$bin" --check -c "$image_conf" -X kafka.security.protocol=bogus "${model_args[@]}" > "$tmp/out" 2>&1; then
        bad "persona-dna --check refuses a bad kafka.* value"
else
        grep -q "security.protocol" "$tmp/out" && ok "persona-dna --check refuses a bad kafka.* value" ||
                bad "persona-dna --check refuses a bad kafka.* value"
fi
if "$bin" --check -c "$image_conf" > "$tmp/out" 2>&1; then
        bad "persona-dna --check refuses a missing model file"
else
        grep -q "persona-model.json" "$tmp/out" && ok "persona-dna --check refuses a missing model file" ||
                bad "persona-dna --check refuses a missing model file"
fi

echo "deploy: $passed passed, $failed failed"
[ "$failed" = 0 ]
