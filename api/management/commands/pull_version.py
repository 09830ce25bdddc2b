"""Download a dataset version over the API into a folder, split into train/validation/test, and verify its hash."""
import hashlib
import json
import os
from pathlib import Path

import requests
from django.core.management.base import BaseCommand, CommandError

SPLITS = ("train", "validation", "test")


class Command(BaseCommand):
    help = ("Pull a dataset version to a local folder: version.json, all.jsonl and one JSONL file per split. "
            "The server and token come from --url/--token or QUORUM_URL/QUORUM_TOKEN.")

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)
        parser.add_argument("version", help="Version name, e.g. v3")
        parser.add_argument("folder", type=Path)
        parser.add_argument("--url", default=os.environ.get("QUORUM_URL", "http://127.0.0.1:8000"))
        parser.add_argument("--token", default=os.environ.get("QUORUM_TOKEN", ""))

    def handle(self, *args, project_id, version, folder, url, token, **options):
        if not token:
            raise CommandError("No API token: pass --token or set QUORUM_TOKEN (create one at /settings/tokens/).")
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        base = f"{url.rstrip('/')}/api/projects/{project_id}/versions/{version}/"
        meta = session.get(base, timeout=60)
        _raise_for(meta)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "version.json").write_text(json.dumps(meta.json(), indent=2, sort_keys=True) + "\n")
        lines = self._download(session, base, folder)
        digest = hashlib.sha256("".join(lines).encode()).hexdigest()
        expected = meta.json()["content_hash"]
        if digest != expected:
            raise CommandError(f"Content hash mismatch: got {digest}, the server says {expected}. Pull again.")
        self.stdout.write(f"Pulled {version} ({len(lines):,} items, hash {digest[:12]}…) into {folder}")

    def _download(self, session, base: str, folder: Path) -> list[str]:
        """Stream the JSONL export to disk; return the "content_hash<TAB>label" lines, sorted, for the check."""
        outputs = {name: (folder / f"{name}.jsonl").open("wb") for name in ("all", *SPLITS)}
        hash_lines = []
        try:
            with session.get(f"{base}export/", params={"format": "jsonl"}, stream=True, timeout=600) as response:
                _raise_for(response)
                for line in response.iter_lines():
                    if not line:
                        continue
                    row = json.loads(line)
                    outputs["all"].write(line + b"\n")
                    outputs[row["split"]].write(line + b"\n")
                    hash_lines.append(f"{row['content_hash']}\t{row['final_label']}\n")
        finally:
            for out in outputs.values():
                out.close()
        return sorted(hash_lines)


def _raise_for(response) -> None:
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise CommandError(f"{response.request.method} {response.url} failed ({response.status_code}): {message}")
