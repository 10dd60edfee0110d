"""``speechbrain-ee push``: uploads an exported model to the Hugging Face
hub with ``huggingface_hub``.

Only the files the export's manifest (``export.json``) lists are uploaded;
``--dry-run`` lists them without a token or the network. The token comes
from the environment (``HF_TOKEN``) or a stored ``hf auth login``.

Authors
-------
* speechbrain-ee contributors 2026
"""

import importlib
import os
from pathlib import Path

from speechbrain_ee.inference.export import read_manifest

TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def upload_list(folder):
    """The files an upload of ``folder`` sends, sorted.

    Arguments
    ---------
    folder : str or Path
        An exported folder.

    Returns
    -------
    list of str
    """
    return sorted(read_manifest(folder)["files"])


def find_token():
    """The hub token from the environment or a stored login.

    Returns
    -------
    str
    """
    for name in TOKEN_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise RuntimeError(
            "no Hugging Face token: set HF_TOKEN to a token with write "
            "access (https://huggingface.co/settings/tokens), or run "
            "`hf auth login`.")
    return token


def _network_errors():
    """The exceptions a failed hub request raises."""
    from huggingface_hub.errors import HfHubHTTPError

    errors = [HfHubHTTPError, OSError, ConnectionError]
    # huggingface_hub 2 sends with httpx2 (or httpx); older ones with
    # requests, whose errors are OSErrors.
    for name in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(name).HTTPError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def push(folder, repo_id, private=False, dry_run=False,
         commit_message="Upload speechbrain-ee model", endpoint=None):
    """Uploads an export.

    Arguments
    ---------
    folder : str or Path
        An exported folder (``speechbrain-ee export``).
    repo_id : str
        ``owner/name`` of the model repository (created if missing).
    private : bool
        Create the repository private.
    dry_run : bool
        Only return what would be uploaded.
    commit_message : str
        The hub commit's message.
    endpoint : str, optional
        Another hub endpoint (default: ``HF_ENDPOINT`` or the public hub).

    Returns
    -------
    list of str
        The uploaded (or, with ``dry_run``, the would-be uploaded) files.
    """
    files = upload_list(folder)
    if "/" not in repo_id:
        raise ValueError(f"repo id {repo_id!r}: expected owner/name.")
    if dry_run:
        return files
    token = find_token()
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True,
                        repo_type="model")
        api.upload_folder(repo_id=repo_id, folder_path=str(Path(folder)),
                          allow_patterns=files,
                          commit_message=commit_message)
    except _network_errors() as err:
        raise RuntimeError(
            f"upload of {folder} to {repo_id} failed: {err}. Check the "
            "network, the token's write access and the repo id; nothing "
            "was changed locally.") from err
    return files


def add_arguments(parser):
    """The ``push`` sub-command's arguments."""
    parser.add_argument("folder", help="an exported folder "
                        "(speechbrain-ee export)")
    parser.add_argument("repo_id", help="owner/name of the hub repository")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--dry-run", action="store_true",
                        help="list what would be uploaded; no network")
    parser.add_argument("--message", default="Upload speechbrain-ee model",
                        help="commit message")
    parser.add_argument("--endpoint", default=None,
                        help="hub endpoint (default: HF_ENDPOINT or "
                        "https://huggingface.co)")


def run(args):
    """Runs the ``push`` sub-command."""
    files = push(args.folder, args.repo_id, private=args.private,
                 dry_run=args.dry_run, commit_message=args.message,
                 endpoint=args.endpoint)
    verb = "Would upload" if args.dry_run else "Uploaded"
    print(f"{verb} {len(files)} files from {args.folder} to "
          f"{args.repo_id}:")
    for name in files:
        print(f"  {name}")
    if not args.dry_run:
        base = args.endpoint or os.environ.get("HF_ENDPOINT",
                                               "https://huggingface.co")
        print(f"{base.rstrip('/')}/{args.repo_id}")
