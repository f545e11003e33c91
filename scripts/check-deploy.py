#!/usr/bin/env python3
"""Checks the deployment files without a container engine or a cluster.

1. Every YAML file of the repository parses (docker-compose.yml, deploy/**).
2. Every worker command line of docker-compose.yml and of the Kubernetes Deployment, with the
   exact environment it gets there (compose `environment`, the ConfigMap via envFrom, env entries;
   secretKeyRef values become a placeholder), is accepted by the built binary's `--check-config`.
3. The Dockerfile ships ONNX Runtime: its version is the Makefile's pin, the runtime image gets the
   file the onnxruntime wheel ships and INFERENCE_WORKER_ONNXRUNTIME_LIBRARY names it, and the built
   binary validates the bundled ONNX model with that environment and the same wheel's library
   (docker itself is not run: no container engine on the development machine).
4. Cross-file invariants: kustomization resources exist; terminationGracePeriodSeconds exceeds
   the drain timeout plus the producer flush; the KEDA/HPA replica cap does not exceed the request
   topic's partitions (as created by the compose file); the KEDA trigger names the worker's group
   and input topic; probes and the Service use the metrics port.

Usage: scripts/check-deploy.py [--binary .build/debug/inference-worker]
Prints one line per check and a closing 'N passed, N failed'; exits 1 on any failure.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name}" + (f"\n      {detail}" if detail else ""))


def yaml_files():
    files = [os.path.join(ROOT, "docker-compose.yml")]
    files += sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*.yaml"), recursive=True))
    files += sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*.yml"), recursive=True))
    return files


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def run_binary(binary, args, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_WORKER_")}
    clean.update({k: str(v) for k, v in env.items()})
    proc = subprocess.run([binary] + args + ["--check-config"], env=clean, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


def duration_seconds(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"not a duration: {text}")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    return float(m.group(1)) * scale


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "inference-worker"))
    options = parser.parse_args()
    binary = os.path.abspath(options.binary)
    check("worker binary exists", os.access(binary, os.X_OK), f"{binary}: build it first (swift build)")
    if failed:
        return finish()

    documents = {}
    for path in yaml_files():
        rel = os.path.relpath(path, ROOT)
        try:
            documents[rel] = load_all(path)
            check(f"parses: {rel}", True)
        except yaml.YAMLError as error:
            check(f"parses: {rel}", False, str(error))

    # --- docker compose ---------------------------------------------------------------------
    compose = (documents.get("docker-compose.yml") or [{}])[0]
    services = compose.get("services", {})
    partitions = {}
    topics_command = " ".join(services.get("topics", {}).get("command", []) or [])
    for name, count in re.findall(r"([A-Za-z0-9._-]+):([0-9]+)", topics_command.split("for spec in", 1)[-1].split(";", 1)[0]):
        partitions[name] = int(count)
    check("compose creates the request topic with partitions", partitions.get("requests", 0) > 0, f"found {partitions}")
    worker_services = [n for n, s in services.items() if s.get("image", "").startswith("inference-worker")]
    run_services = [n for n in worker_services if (services[n].get("command") or [""])[0] == "run"]
    check("compose runs two worker replicas", len(run_services) == 2, f"found {run_services}")
    groups = set()
    for name in worker_services:
        service = services[name]
        command = list(service.get("command") or [])
        env = dict(service.get("environment") or {})
        status, output = run_binary(binary, command, env)
        check(f"compose {name}: `{' '.join(command[:2])}` --check-config accepts its command line and environment",
              status == 0, output.strip()[-800:])
        if command and command[0] == "run":
            groups.add(env.get("INFERENCE_WORKER_GROUP_ID", "inference-worker"))
            drain = duration_seconds(env.get("INFERENCE_WORKER_DRAIN_TIMEOUT", "20s"))
            grace = duration_seconds(str(service.get("stop_grace_period", "10s")))
            check(f"compose {name}: stop_grace_period ({grace:g}s) > drain timeout ({drain:g}s) + 5s flush",
                  grace > drain + 5)
    check("compose workers share one consumer group", len(groups) == 1, f"{groups}")

    # --- Kubernetes ----------------------------------------------------------------------------
    k8s = {}
    for rel, docs in documents.items():
        if rel.startswith("deploy" + os.sep):
            for doc in docs:
                k8s.setdefault(doc.get("kind"), []).append((rel, doc))
    for rel, docs in documents.items():
        if os.path.basename(rel) == "kustomization.yaml":
            base = os.path.dirname(os.path.join(ROOT, rel))
            for resource in docs[0].get("resources", []):
                check(f"{rel}: resource {resource} exists", os.path.exists(os.path.join(base, resource)))
    configmaps = {doc["metadata"]["name"]: doc.get("data", {}) for _, doc in k8s.get("ConfigMap", [])}
    deployments = k8s.get("Deployment", [])
    check("deploy has a worker Deployment", len(deployments) == 1)
    worker_env = {}
    metrics_port = None
    for rel, deployment in deployments:
        spec = deployment["spec"]["template"]["spec"]
        for container in spec["containers"]:
            env = {}
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef", {}).get("name")
                check(f"{rel}: envFrom ConfigMap {ref} exists", ref in configmaps)
                env.update(configmaps.get(ref, {}))
            for entry in container.get("env", []):
                if "value" in entry:
                    env[entry["name"]] = entry["value"]
                elif "secretKeyRef" in entry.get("valueFrom", {}):
                    env[entry["name"]] = "placeholder-from-secret"
                elif "fieldRef" in entry.get("valueFrom", {}):
                    env[entry["name"]] = "inference-worker-0123456789-abcde"
                elif "configMapKeyRef" in entry.get("valueFrom", {}):
                    ref = entry["valueFrom"]["configMapKeyRef"]
                    env[entry["name"]] = configmaps.get(ref["name"], {}).get(ref["key"], "")
            args = list(container.get("command", [])[1:] if container.get("command") else []) + list(container.get("args", []))
            status, output = run_binary(binary, args, env)
            check(f"{rel}: container {container['name']} `{' '.join(args)}` --check-config accepts its args and environment",
                  status == 0, output.strip()[-800:])
            check(f"{rel}: the secret-backed password is redacted in --check-config",
                  "placeholder-from-secret" not in output)
            worker_env = env
            metrics_port = int(env.get("INFERENCE_WORKER_METRICS_PORT", "9090"))
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            check(f"{rel}: container port 'metrics' is the metrics port ({metrics_port})", ports.get("metrics") == metrics_port)
            for probe, path in [("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")]:
                get = container.get(probe, {}).get("httpGet", {})
                check(f"{rel}: {probe} GETs {path} on the metrics port", get.get("path") == path and get.get("port") in ("metrics", metrics_port))
            grace = spec.get("terminationGracePeriodSeconds", 30)
            drain = duration_seconds(env.get("INFERENCE_WORKER_DRAIN_TIMEOUT", "20s"))
            check(f"{rel}: terminationGracePeriodSeconds ({grace}) > drain timeout ({drain:g}s) + 5s flush + margin", grace >= drain + 10)
            check(f"{rel}: a model volume is mounted at the model root",
                  any(m.get("mountPath") == env.get("INFERENCE_WORKER_MODEL_ROOT") for m in container.get("volumeMounts", [])))
            check(f"{rel}: resources set", bool(container.get("resources", {}).get("requests")) and bool(container.get("resources", {}).get("limits")))
    for rel, service in k8s.get("Service", []):
        check(f"{rel}: Service targets the metrics port",
              any(p.get("targetPort") in ("metrics", metrics_port) for p in service["spec"]["ports"]))
    check("deploy has a PodDisruptionBudget", bool(k8s.get("PodDisruptionBudget")))
    input_partitions = partitions.get(worker_env.get("INFERENCE_WORKER_INPUT_TOPICS", "requests").split(",")[0], 0)
    for rel, scaled in k8s.get("ScaledObject", []):
        spec = scaled["spec"]
        check(f"{rel}: maxReplicaCount ({spec.get('maxReplicaCount')}) <= request partitions ({input_partitions})",
              0 < spec.get("maxReplicaCount", 100) <= input_partitions)
        for trigger in spec.get("triggers", []):
            if trigger.get("type") == "kafka":
                meta = trigger["metadata"]
                check(f"{rel}: KEDA trigger watches the worker's group", meta.get("consumerGroup") == worker_env.get("INFERENCE_WORKER_GROUP_ID"))
                check(f"{rel}: KEDA trigger watches the request topic", meta.get("topic") in worker_env.get("INFERENCE_WORKER_INPUT_TOPICS", "").split(","))
                check(f"{rel}: KEDA bootstrap servers match the worker's", meta.get("bootstrapServers") == worker_env.get("INFERENCE_WORKER_BOOTSTRAP_SERVERS"))
    check("deploy has a KEDA ScaledObject", bool(k8s.get("ScaledObject")))
    for rel, hpa in k8s.get("HorizontalPodAutoscaler", []):
        check(f"{rel}: HPA maxReplicas ({hpa['spec']['maxReplicas']}) <= request partitions ({input_partitions})",
              0 < hpa["spec"]["maxReplicas"] <= input_partitions)
    check("deploy has an HPA alternative", bool(k8s.get("HorizontalPodAutoscaler")))
    check_kustomize()
    check_dockerfile(binary)
    return finish()


def dockerfile_stages(text):
    """Stages of a Dockerfile as (name, [instruction lines]), continuation lines joined; the global
    ARG defaults as a dict."""
    lines, current = [], ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        current += raw.rstrip("\\").strip() + " " if raw.rstrip().endswith("\\") else raw.strip()
        if not raw.rstrip().endswith("\\"):
            if current:
                lines.append(current)
            current = ""
    args, stages = {}, []
    for line in lines:
        word = line.split(None, 1)[0].upper()
        if word == "FROM":
            parts = line.split()
            stages.append((parts[3] if len(parts) > 3 and parts[2].upper() == "AS" else "", []))
        elif stages:
            stages[-1][1].append(line)
        elif word == "ARG" and "=" in line:
            key, value = line.split(None, 1)[1].split("=", 1)
            args[key] = value
    return args, stages


def check_dockerfile(binary):
    """The Dockerfile's ONNX Runtime (issue 15), checked without building the image."""
    text = open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8").read()
    args, stages = dockerfile_stages(text)
    version = args.get("ONNXRUNTIME_VERSION")
    makefile = open(os.path.join(ROOT, "Makefile"), encoding="utf-8").read()
    pin = re.search(r"onnxruntime==([0-9.]+)", makefile)
    check(f"Dockerfile: ONNXRUNTIME_VERSION ({version}) is the Makefile's pin ({pin and pin.group(1)})",
          version is not None and pin is not None and version == pin.group(1))
    if version is None:
        return
    expand = lambda line: line.replace("${ONNXRUNTIME_VERSION}", version)
    library = f"libonnxruntime.so.{version}"
    source = [expand(l) for l in dict(stages).get("onnxruntime", [])]
    check("Dockerfile: an `onnxruntime` stage installs the wheel and keeps its library in /out",
          any(f"onnxruntime==" in l and "pip" in l for l in source)
          and any(f"/ort/onnxruntime/capi/{library}" in l and f"/out/{library}" in l for l in source),
          f"{source}")
    runtime = [expand(l) for l in stages[-1][1]] if stages else []
    copied = [l.split() for l in runtime if l.startswith("COPY") and "--from=onnxruntime" in l]
    target = copied[0][-1] if copied and copied[0][-2] == "/out/" else None
    env_line = next((l for l in runtime if l.startswith("ENV") and "INFERENCE_WORKER_ONNXRUNTIME_LIBRARY=" in l), "")
    named = re.search(r"INFERENCE_WORKER_ONNXRUNTIME_LIBRARY=(\S+)", env_line)
    named = named.group(1) if named else None
    check("Dockerfile: the runtime image copies the library and INFERENCE_WORKER_ONNXRUNTIME_LIBRARY names it",
          target is not None and named == os.path.join(target, library), f"copied to {target}, variable {named}")
    # The wheel this machine installed (make deps pins the same version) ships the file under that name.
    try:
        import onnxruntime
        wheel = os.path.join(os.path.dirname(onnxruntime.__file__), "capi", library)
    except ImportError:
        wheel = None
    check(f"the onnxruntime wheel ships onnxruntime/capi/{library}", wheel is not None and os.path.exists(wheel),
          f"pip install onnxruntime=={version} (make deps), found {wheel}")
    if wheel is None or not os.path.exists(wheel):
        return
    # What the image runs: the worker with only the image's variable pointing at that library.
    status, output = 1, ""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_WORKER_")}
    clean["INFERENCE_WORKER_ONNXRUNTIME_LIBRARY"] = wheel
    proc = subprocess.run([binary, "model", "validate", os.path.join(ROOT, "models", "fraud-mlp-onnx", "1")],
                          env=clean, capture_output=True, text=True, timeout=120)
    status, output = proc.returncode, proc.stdout + proc.stderr
    check(f"models/fraud-mlp-onnx/1 validates with INFERENCE_WORKER_ONNXRUNTIME_LIBRARY={library} (the image's setting)",
          status == 0 and output.strip().endswith("OK"), output.strip()[-800:])


def check_kustomize():
    """Renders each overlay with `kubectl kustomize` (offline) when kubectl is installed."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("skip  kustomize rendering (kubectl not installed)")
        return
    for overlay, autoscaler in [("keda", "ScaledObject"), ("hpa", "HorizontalPodAutoscaler")]:
        path = os.path.join(ROOT, "deploy", "overlays", overlay)
        proc = subprocess.run([kubectl, "kustomize", path], capture_output=True, text=True, timeout=60)
        check(f"kubectl kustomize deploy/overlays/{overlay} renders", proc.returncode == 0, proc.stderr.strip()[-500:])
        if proc.returncode != 0:
            continue
        docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
        kinds = sorted(d["kind"] for d in docs)
        check(f"overlay {overlay}: one Deployment and one {autoscaler}",
              kinds.count("Deployment") == 1 and kinds.count(autoscaler) == 1, f"{kinds}")
        deployment = next((d for d in docs if d["kind"] == "Deployment"), None)
        if not deployment:
            continue
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        def selects(selector):
            return all(labels.get(k) == v for k, v in selector.items())
        check(f"overlay {overlay}: Deployment selector matches its pods", selects(deployment["spec"]["selector"]["matchLabels"]))
        for doc in docs:
            if doc["kind"] == "Service":
                check(f"overlay {overlay}: Service selects the worker pods", selects(doc["spec"]["selector"]))
            if doc["kind"] == "PodDisruptionBudget":
                check(f"overlay {overlay}: PodDisruptionBudget selects the worker pods", selects(doc["spec"]["selector"]["matchLabels"]))
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        check(f"overlay {overlay}: image is set by the kustomization ({image})", "/" in image and ":" in image)


def finish():
    print(f"check-deploy: {passed} checks passed, {failed} checks failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
