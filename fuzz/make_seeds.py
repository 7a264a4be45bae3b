#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, derived from the committed vectors (specs/vectors) and, when
present, the external vectors (../shared/vectors or $CERTLEDGER_VECTORS).

Usage: make_seeds.py REPO_ROOT CORPUS_DIR. Writes CORPUS_DIR/<target>/seed-<sha256 prefix>;
existing files are kept, so a corpus grown by earlier runs is never lost. Valid inputs let the
coverage-guided fuzzer start deep inside each decoder instead of at its magic bytes.
"""

import base64
import hashlib
import json
import os
import re
import struct
import sys


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def main():
    root, out = sys.argv[1], sys.argv[2]
    seeds = {}

    def add(target, data):
        if isinstance(data, str):
            data = data.encode()
        seeds.setdefault(target, set()).add(bytes(data))

    # Trust lists (specs/trust-list.md): the signed list, each root alone, and every list case.
    with open(os.path.join(root, "specs", "vectors", "trust-list.json"), encoding="utf-8") as f:
        doc = json.load(f)
    add("trust_list", json.dumps(doc["trust_list"], ensure_ascii=False))
    for ledger in doc["trust_list"]["ledgers"]:
        add("trust_list", json.dumps(ledger, ensure_ascii=False))
    for case in doc["lists"]:
        add("trust_list", case["json"])

    for name, target in (("bundles.json", "bundle"), ("identity-bundles.json", "linked_bundle")):
        path = os.path.join(root, "specs", "vectors", name)
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for case in doc["cases"]:
            text = case["bundle"]
            raw = b64url(text[len("CLB1."):])
            add(target, raw)
            add(target, text)
            add("bundle" if target == "linked_bundle" else "linked_bundle", raw)
            # Layout (specs/bundle.md): magic "CLB\x01", presentation tag, u32 length, text, proofs.
            if raw[:4] != b"CLB\x01" or raw[4] not in (0, 1):
                continue
            (n,) = struct.unpack(">I", raw[5:9])
            presentation = raw[9:9 + n].decode("utf-8", "replace")
            rest = raw[9 + n:]
            if raw[4] == 0:
                add("sd_jwt", presentation)
                for part in presentation.split("~")[1:-1]:
                    add("sd_jwt", part)
            add("proofs", rest)
            body = rb"[a-z][a-z0-9.\-/]+\n[0-9]+\n[A-Za-z0-9+/=]{44}\n(?:[ -~]+\n)*"
            for note in re.findall(body + rb"\n(?:\xe2\x80\x94 [ -~]+\n)+", rest):
                add("checkpoint_note", note)
            for text in re.findall(body, rest):
                add("checkpoint_note", text)
            if raw[4] == 0:
                credential_file_seed(add, presentation, rest)
        for key in doc.get("trust_root", {}).get("keys", []):
            add("checkpoint_note", key)

    add("presentation_request", json.dumps({
        "version": 1, "verifier_id": "bank.example", "purpose": "account-opening",
        "claims": ["name", "birth_date"], "credential_types": ["cn.gov.identity.attestation"],
        "nonce": b64url_encode(bytes(range(16))), "audience": "https://bank.example",
        "created_at": 1_700_000_000, "expires_at": 1_700_000_600}))

    vectors = os.environ.get("CERTLEDGER_VECTORS") or os.path.join(root, "..", "shared", "vectors")
    tlog = os.path.join(vectors, "tlog", "signed_note_and_checkpoint_vectors.json")
    if os.path.isfile(tlog):
        with open(tlog, encoding="utf-8") as f:
            strings_into(add, "checkpoint_note", json.load(f))
    sd = os.path.join(vectors, "sd-jwt", "draft_disclosure_examples.json")
    if os.path.isfile(sd):
        with open(sd, encoding="utf-8") as f:
            strings_into(add, "sd_jwt", json.load(f))

    total = 0
    for target, items in seeds.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for data in items:
            path = os.path.join(d, "seed-" + hashlib.sha256(data).hexdigest()[:16])
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(data)
            total += 1
    print(f"make_seeds: {total} seeds for {len(seeds)} targets in {out}")


def credential_file_seed(add, presentation, proofs):
    """A valid credential file: the issued SD-JWT (no KB-JWT) and the bundle's proofs."""
    issued = presentation[:presentation.rfind("~") + 1]
    try:
        payload = json.loads(b64url(issued.split(".")[1]))
        status = payload["status"]["certledger"]
    except (ValueError, KeyError, IndexError):
        return
    add("credential_file", json.dumps({
        "version": 1, "chain_id": status["chain_id"], "credential_id": status["credential_id"],
        "sd_jwt": issued, "proofs": b64url_encode(proofs)}, indent=2))


def strings_into(add, target, value):
    """Every string in a JSON document, as a text seed (bounded)."""
    if isinstance(value, str):
        if 0 < len(value) <= 16 * 1024:
            add(target, value)
    elif isinstance(value, list):
        for v in value:
            strings_into(add, target, v)
    elif isinstance(value, dict):
        for v in value.values():
            strings_into(add, target, v)


if __name__ == "__main__":
    main()
