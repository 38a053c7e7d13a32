"""Spreads concurrent chat calls over several coordinators with the official `openai` SDK, as the
boards of a fleet with several coordinators would: call i starts INTERVAL_MS after call i-1 and
goes to coordinator i mod N with node i mod M's gateway key, trusting the fleet CA. Used by
Tests/EndToEndTests/MultiCoordinatorEndToEndTests.swift; prints one JSON object per finished
call (its coordinator, HTTP status or error, request id, error code).

    python failover_load.py CALLS CONCURRENCY INTERVAL_MS MODEL MAX_TOKENS BASE[,BASE...] STATE[,STATE...]
"""
import json
import ssl
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import openai

lock = threading.Lock()


def out(**fields):
    with lock:
        print(json.dumps(fields), flush=True)


def main():
    calls, concurrency, interval = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
    model, max_tokens = sys.argv[4], int(sys.argv[5])
    bases, states = sys.argv[6].split(","), sys.argv[7].split(",")
    clients = {}
    for b, base in enumerate(bases):
        for s, state in enumerate(states):
            ctx = ssl.create_default_context(cafile=f"{state}/ca.pem")
            key = open(f"{state}/gateway.key").read().strip()
            clients[(b, s)] = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=30,
                                            http_client=openai.DefaultHttpxClient(verify=ctx))

    def call(i):
        b, s = i % len(bases), i % len(states)
        try:
            r = clients[(b, s)].chat.completions.with_raw_response.create(
                model=model, messages=[{"role": "user", "content": f"call {i}"}], max_tokens=max_tokens)
            r.parse()
            out(i=i, coordinator=b, status=r.status_code, request_id=r.headers.get("x-request-id"))
        except openai.APIStatusError as e:
            body = e.body if isinstance(e.body, dict) else {}
            inner = body.get("error", body) if isinstance(body, dict) else {}
            out(i=i, coordinator=b, status=e.status_code, request_id=e.response.headers.get("x-request-id"),
                code=inner.get("code") if isinstance(inner, dict) else None)
        except openai.APIError as e:
            out(i=i, coordinator=b, status=None, error=type(e).__name__)

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for i in range(calls):
            time.sleep(max(0.0, start + i * interval - time.monotonic()))
            pool.submit(call, i)


if __name__ == "__main__":
    main()
