"""Scrapes the coordinator's /metrics over TLS with a bearer token and parses it with the
official Prometheus Python client's text parser (prometheus_client.parser), which rejects
anything that is not valid exposition format. Prints one JSON document:
{"status": HTTP status, "content_type": ..., "samples": [{"name", "labels", "value"}], "families": {name: type}}

    python metrics_scrape.py URL CA_PEM TOKEN
"""
import json
import ssl
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    url, ca, token = sys.argv[1], sys.argv[2], sys.argv[3]
    ctx = ssl.create_default_context(cafile=ca)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=30) as response:
            text = response.read().decode("utf-8")
            status, content_type = response.status, response.headers.get("Content-Type")
    except urllib.error.HTTPError as e:
        print(json.dumps({"status": e.code, "body": e.read().decode("utf-8", "replace")}))
        return
    samples, families = [], {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value})
    print(json.dumps({"status": status, "content_type": content_type, "samples": samples, "families": families}))


if __name__ == "__main__":
    main()
