"""Helpers for the cluster benchmarks: drive deploy/local-cluster.sh, the orchestrator CLI and the index."""
import datetime, json, os, re, subprocess, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXE = ["dotnet", "Silo/bin/Release/net10.0/orchestrator.dll"]


def sh(*args):
    done = subprocess.run(list(args), capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:  # say why: the caller's traceback alone does not
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def start(silos, devices, state):
    """Starts PostgreSQL and the silos; returns the connection string (also exported for the CLI)."""
    os.environ["ORCHESTRATOR_LOCAL_CLUSTER"] = state
    text = sh("deploy/local-cluster.sh", str(silos), "--devices", devices)
    cs = re.search(r"ORCHESTRATOR__POSTGRES='([^']*)'", text).group(1)
    os.environ["ORCHESTRATOR__POSTGRES"] = cs
    return cs


def stop(state, keep_logs_in=None):
    if keep_logs_in:
        subprocess.run(f"mkdir -p {keep_logs_in} && cp {state}/*.log {keep_logs_in}/ 2>/dev/null", shell=True)
    subprocess.run(["deploy/local-cluster.sh", "stop"], capture_output=True, cwd=ROOT)


def demo_data(work):
    sh(*EXE, "demo", "--steps", "1", "--seconds", "5", "--work-dir", f"{work}/demo")
    return f"{work}/demo/data"


def submit(work, spec):
    json.dump(spec, open(f"{work}/{spec['id']}.json", "w"))
    sh(*EXE, "submit", f"{work}/{spec['id']}.json")


def status(job, attempts=5):
    """The job's status; retried, since a client may first pick the gateway of a silo that just died."""
    for attempt in range(attempts):
        try:
            return json.loads(sh(*EXE, "job", job, "--json"))
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)


def wait(job, predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        s = status(job)
        if predicate(s):
            return s
        if s["phase"] in ("Failed", "Cancelled", "Completed"):
            raise SystemExit(f"job {s['phase']} while waiting for {what}: {s.get('error')}")
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def sql(cs, query):
    port = re.search(r"Port=(\d+)", cs).group(1)
    out = sh("psql", f"postgresql://postgres@127.0.0.1:{port}/postgres", "-At", "-c", query)
    return [line.split("|") for line in out.splitlines() if line]


def utc(text):
    """A timestamp as psql prints it with to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')."""
    return datetime.datetime.fromisoformat(text.replace(" ", "T") + "+00:00").timestamp()


TIME = "to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


def dashboard_token(port):
    """A fresh dashboard token; exports its hash and the dashboard's port so that the silos started next accept it."""
    text = sh(*EXE, "dashboard-token")
    os.environ["ORCHESTRATOR__DASHBOARDTOKENHASHES__0"] = text.split("hash:")[1].split()[0]
    os.environ["DASHBOARD_PORT"] = str(port)
    return text.split("token:")[1].split()[0]


def api(token, path, port=None):
    """GET of the dashboard's REST API on this host, parsed as JSON."""
    port = port or os.environ["DASHBOARD_PORT"]
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def submit_when_free(work, spec, attempts=30):
    """Submits, retrying while the previous job's slots are still being released (its end is recorded just before)."""
    for attempt in range(attempts):
        try:
            return submit(work, spec)
        except RuntimeError as e:
            if "free" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(1)
