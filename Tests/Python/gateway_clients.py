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
        ("untranslatable", lambda: an.messages.create(model="fleet-default", max_tokens=5, extra_body={"top_k": 5},
                                                      messages=[{"role": "user", "content": "x"}])),
        ("anthropic_unknown_model", lambda: an.messages.create(model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}])),
    ]:
        try:
            call()
            out(step=step, error=None)
        except (openai.APIStatusError, anthropic.APIStatusError) as e:
            error(step, e)


WEATHER_ANTHROPIC = {"name": "get_weather", "description": "The weather in a city",
                     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
WEATHER_OPENAI = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                                   "parameters": WEATHER_ANTHROPIC["input_schema"]}}


def translate(base, state):
    """Each SDK calling a model whose provider speaks the other API: text, streamed, and a tool call
    (streamed and not) with its result handed back."""
    oa, an = clients(base, state)
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]

    msg = an.messages.create(model="fleet-default", max_tokens=4, system="You are terse.", messages=[{"role": "user", "content": "ping"}])
    out(step="a_text", text=msg.content[0].text, model=msg.model, stop=msg.stop_reason, usage=msg.usage.model_dump())
    with an.messages.stream(model="fleet-default", max_tokens=5, messages=[{"role": "user", "content": "ping"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    out(step="a_stream", text=text, stop=final.stop_reason, usage=final.usage.model_dump())
    msg = an.messages.create(model="fleet-default", max_tokens=50, tools=[WEATHER_ANTHROPIC], messages=ask)
    use = msg.content[0]
    out(step="a_tool", type=use.type, name=use.name, input=use.input, stop=msg.stop_reason)
    answer = an.messages.create(model="fleet-default", max_tokens=3, tools=[WEATHER_ANTHROPIC], messages=ask + [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in msg.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}]}])
    out(step="a_tool_result", text=answer.content[0].text, stop=answer.stop_reason)
    with an.messages.stream(model="fleet-default", max_tokens=50, tools=[WEATHER_ANTHROPIC], messages=ask) as s:
        final = s.get_final_message()
    out(step="a_tool_stream", type=final.content[0].type, input=final.content[0].input, stop=final.stop_reason)

    c = oa.chat.completions.create(model="claude", max_tokens=4, messages=[{"role": "system", "content": "You are terse."},
                                                                           {"role": "user", "content": "ping"}])
    out(step="o_text", text=c.choices[0].message.content, model=c.model, finish=c.choices[0].finish_reason, usage=c.usage.model_dump())
    stream = oa.chat.completions.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "ping"}],
                                        stream=True, stream_options={"include_usage": True})
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage.model_dump()
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    out(step="o_stream", text=text, finish=finish, usage=usage)
    c = oa.chat.completions.create(model="claude", max_tokens=50, tools=[WEATHER_OPENAI], messages=ask)
    call = c.choices[0].message.tool_calls[0]
    out(step="o_tool", name=call.function.name, arguments=json.loads(call.function.arguments), finish=c.choices[0].finish_reason)
    answer = oa.chat.completions.create(model="claude", max_tokens=3, tools=[WEATHER_OPENAI], messages=ask + [
        c.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"}])
    out(step="o_tool_result", text=answer.choices[0].message.content, finish=answer.choices[0].finish_reason)
    stream = oa.chat.completions.create(model="claude", max_tokens=50, tools=[WEATHER_OPENAI], messages=ask, stream=True)
    name, arguments, finish = "", "", None
    for chunk in stream:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                name += (delta.function.name or "") if delta.function else ""
                arguments += (delta.function.arguments or "") if delta.function else ""
            finish = choice.finish_reason or finish
    out(step="o_tool_stream", name=name, arguments=json.loads(arguments), finish=finish)

    for step, call in [
        ("a_top_k", lambda: an.messages.create(model="fleet-default", max_tokens=5, extra_body={"top_k": 3}, messages=[{"role": "user", "content": "x"}])),
        ("o_n", lambda: oa.chat.completions.create(model="claude", n=2, messages=[{"role": "user", "content": "x"}])),
        ("o_embed", lambda: oa.embeddings.create(model="claude", input="x")),
    ]:
        try:
            call()
            out(step=step, error=None)
        except (openai.APIStatusError, anthropic.APIStatusError) as e:
            error(step, e)
            out(step=step + "_message", message=str(e))


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
    elif scenario == "translate":
        translate(base, state)
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
