"""Drives the Flotilla gateway with the official `openai` and `anthropic` Python SDKs, as a node's
runtime would: base URL, the node's gateway key (read from its `gateway.key`) and the fleet CA
(`ca.pem`). Used by Tests/EndToEndTests/GatewayEndToEndTests.swift; prints one JSON object per
line: what each call returned, or the error the SDK raised (its HTTP status and error code).

    python gateway_clients.py BASE_URL STATE_DIR SCENARIO
"""
import json
import ssl
import sys

import anthropic
import openai


def out(**fields):
    print(json.dumps(fields), flush=True)


def context(state, mtls=False):
    ctx = ssl.create_default_context(cafile=f"{state}/ca.pem")
    if mtls:
        ctx.load_cert_chain(f"{state}/cert.pem", f"{state}/key.pem")
    return ctx


def clients(base, state, mtls=False, key=None):
    key = key if key is not None else open(f"{state}/gateway.key").read().strip()
    ctx = context(state, mtls)
    oa = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0,
                       http_client=openai.DefaultHttpxClient(verify=ctx))
    an = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0,
                             http_client=anthropic.DefaultHttpxClient(verify=ctx))
    return oa, an


def error(step, e):
    body = getattr(e, "body", None)
    code = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        code = inner.get("code") if isinstance(inner, dict) else None
    out(step=step, error=type(e).__name__, status=getattr(e, "status_code", None), code=code)


def calls(base, state):
    oa, an = clients(base, state)
    r = oa.chat.completions.with_raw_response.create(
        model="fleet-default", messages=[{"role": "user", "content": "ping"}], max_tokens=3,
        extra_body={"x_future_field": {"kept": True}})
    c = r.parse()
    out(step="chat", request_id=r.headers.get("x-request-id"), text=c.choices[0].message.content,
        usage=c.usage.model_dump())

    stream = oa.chat.completions.create(model="fleet-default", messages=[{"role": "user", "content": "ping"}],
                                        max_tokens=4, stream=True)
    text, usage_seen = "", False
    for chunk in stream:
        if chunk.usage is not None:
            usage_seen = True
        for choice in chunk.choices:
            text += choice.delta.content or ""
    out(step="chat_stream", request_id=stream.response.headers.get("x-request-id"), text=text, usage_seen=usage_seen)

    stream = oa.chat.completions.create(model="fleet-default", messages=[{"role": "user", "content": "ping"}],
                                        max_tokens=5, stream=True, stream_options={"include_usage": True})
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage.model_dump()
    out(step="chat_stream_usage", request_id=stream.response.headers.get("x-request-id"), usage=usage)

    e = oa.embeddings.with_raw_response.create(model="fleet-embed", input=["a", "b", "c"])
    out(step="embeddings", request_id=e.headers.get("x-request-id"), count=len(e.parse().data),
        usage=e.parse().usage.model_dump())

    m = an.messages.with_raw_response.create(model="claude", max_tokens=6, messages=[{"role": "user", "content": "ping"}])
    msg = m.parse()
    out(step="messages", request_id=m.headers.get("x-request-id"), text=msg.content[0].text, usage=msg.usage.model_dump())

    with an.messages.stream(model="claude", max_tokens=7, messages=[{"role": "user", "content": "ping"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
        out(step="messages_stream", request_id=s.response.headers.get("x-request-id"), text=text,
            usage=final.usage.model_dump())

    out(step="models", ids=sorted(model.id for model in oa.models.list()))

    for step, call in [
        ("unknown_model", lambda: oa.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])),
        ("unpriced_model", lambda: oa.chat.completions.create(model="unpriced", messages=[{"role": "user", "content": "x"}])),
        ("wrong_api", lambda: an.messages.create(model="fleet-default", max_tokens=5, messages=[{"role": "user", "content": "x"}])),
        ("anthropic_unknown_model", lambda: an.messages.create(model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}])),
    ]:
        try:
            call()
            out(step=step, error=None)
        except (openai.APIStatusError, anthropic.APIStatusError) as e:
            error(step, e)


def cancel(base, state):
    """Reads three chunks of a slow stream, then hangs up."""
    oa, _ = clients(base, state)
    stream = oa.chat.completions.create(model="slow", messages=[{"role": "user", "content": "go"}], stream=True)
    received = 0
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                received += 1
        if received >= 3:
            break
    out(step="cancel", request_id=stream.response.headers.get("x-request-id"), received=received)
    stream.close()


def give_up(base, state):
    """Asks the slow model for a non-streamed answer and stops waiting after half a second."""
    oa, _ = clients(base, state)
    try:
        oa.with_options(timeout=0.5).chat.completions.create(
            model="slow", messages=[{"role": "user", "content": "take your time"}], max_tokens=10)
        out(step="give_up", error=None)
    except openai.APITimeoutError as e:
        out(step="give_up", error=type(e).__name__)


def chat(base, state, mtls=False, key=None):
    oa, an = clients(base, state, mtls=mtls, key=key)
    try:
        c = oa.chat.completions.create(model="fleet-default", messages=[{"role": "user", "content": "x"}], max_tokens=2)
        out(step="openai", error=None, text=c.choices[0].message.content)
    except openai.APIStatusError as e:
        error("openai", e)
    try:
        m = an.messages.create(model="claude", max_tokens=2, messages=[{"role": "user", "content": "x"}])
        out(step="anthropic", error=None, text=m.content[0].text)
    except anthropic.APIStatusError as e:
        error("anthropic", e)


if __name__ == "__main__":
    base, state, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
    if scenario == "calls":
        calls(base, state)
    elif scenario == "cancel":
        cancel(base, state)
    elif scenario == "give-up":
        give_up(base, state)
    elif scenario == "chat":
        chat(base, state)
    elif scenario == "mtls":
        # Over mutual TLS the certificate identifies the node; SDKs insist on some key.
        chat(base, state, mtls=True, key="unused")
    else:
        sys.exit(f"unknown scenario {scenario}")
