"""``speechbrain-ee push``: uploads an exported model to the Hugging Face
hub with ``huggingface_hub``; and the other way, what loading a model from
the hub checks (`check_trusted`, `fetch_export`).

Only the files the export's manifest (``export.json``) lists are uploaded;
``--dry-run`` lists them without a token or the network. The token comes
from the environment (``HF_TOKEN``) or a stored ``hf auth login``.

Loading a model runs its ``hyperparams.yaml``, which is HyperPyYAML: it
can name any Python callable (``!new:``, ``!apply:``), as ``transformers``'
remote code can. A local folder is the user's own; a hub id is loaded only
when trusted: ``trust_remote_model=True`` (``--trust-remote-model``), or an
id (or ``fnmatch`` pattern, e.g. ``myorg/*``) in the allow list: the
environment variable ``SPEECHBRAIN_EE_TRUSTED_MODELS`` (separated by
commas or spaces) or the file ``~/.config/speechbrain_ee/trusted_models.txt``
(``$XDG_CONFIG_HOME`` if set; one a line, ``#`` comments).

Authors
-------
* speechbrain-ee contributors 2026
"""

import fnmatch
import importlib
import os
import re
from pathlib import Path

from speechbrain_ee.errors import UsageError
from speechbrain_ee.inference.export import (
    MANIFEST,
    is_model_file,
    load_manifest,
    read_manifest,
    verify_export,
)

TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
TRUST_VARIABLE = "SPEECHBRAIN_EE_TRUSTED_MODELS"


def trusted_models_file():
    """The allow list of hub models a user keeps (see the module's
    docstring).

    Example
    -------
    >>> trusted_models_file().name
    'trusted_models.txt'
    """
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "speechbrain_ee" / "trusted_models.txt"


def trusted_models():
    """The ids and patterns of the allow list (environment and file).

    Returns
    -------
    list of str

    Example
    -------
    >>> os.environ[TRUST_VARIABLE] = "me/model, myorg/*"
    >>> trusted_models()[:2]
    ['me/model', 'myorg/*']
    >>> del os.environ[TRUST_VARIABLE]
    """
    patterns = re.split(r"[\s,]+", os.environ.get(TRUST_VARIABLE, ""))
    path = trusted_models_file()
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            patterns.append(line.split("#", 1)[0].strip())
    return [p for p in patterns if p]


def check_trusted(source, trust_remote_model=False):
    """Refuses a hub model that is neither trusted explicitly nor in the
    allow list: loading it runs the code its YAML names.

    Arguments
    ---------
    source : str
        A hub id (``owner/name``).
    trust_remote_model : bool
        The user trusts it (``--trust-remote-model``).

    Example
    -------
    >>> check_trusted("me/model", trust_remote_model=True)
    >>> os.environ[TRUST_VARIABLE] = "me/*"
    >>> check_trusted("me/model")
    >>> check_trusted("someone/else")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    speechbrain_ee.errors.UsageError: someone/else: loading a model from the hub runs the Python code its hyperparams.yaml names...
    >>> del os.environ[TRUST_VARIABLE]
    """
    if trust_remote_model or any(fnmatch.fnmatchcase(source, p)
                                 for p in trusted_models()):
        return
    raise UsageError(
        f"{source}: loading a model from the hub runs the Python code its "
        "hyperparams.yaml names (as transformers' trust_remote_code). If you "
        "trust it, pass --trust-remote-model (trust_remote_model=True in "
        f"Python), or add it to {trusted_models_file()} or to ${TRUST_VARIABLE}.")


def fetch_file(source, filename, savedir):
    """One file of a hub repository into ``savedir`` (SpeechBrain's
    fetching, through the Hugging Face cache).

    Arguments
    ---------
    source : str
        The hub id.
    filename : str
        The file.
    savedir : str or Path
        Where it goes.

    Returns
    -------
    Path

    Example
    -------
    >>> import tempfile
    >>> repo = Path(tempfile.mkdtemp())  # a local folder stands for the hub
    >>> _ = (repo / "a.txt").write_text("hi")
    >>> fetch_file(str(repo), "a.txt", Path(tempfile.mkdtemp())).read_text()
    'hi'
    """
    from speechbrain.utils.fetching import fetch

    return fetch(filename=filename, source=source, savedir=savedir)


def fetch_export(source, savedir):
    """A hub export's model files (`is_model_file`: its YAML and checkpoints)
    into ``savedir``, checked against the hashes of its ``export.json``
    (`verify_export`) before anything is loaded.

    Arguments
    ---------
    source : str
        The hub id.
    savedir : str or Path
        Where the files go.

    Returns
    -------
    Path
        ``savedir``, a local export to load.

    Example
    -------
    >>> import json, tempfile
    >>> from speechbrain_ee.inference.export import _sha256
    >>> repo = Path(tempfile.mkdtemp())  # a local folder stands for the hub
    >>> _ = (repo / "hyperparams.yaml").write_text("a: 1")
    >>> _ = (repo / MANIFEST).write_text(json.dumps({"files": {
    ...     "hyperparams.yaml": _sha256(repo / "hyperparams.yaml"), "README.md": "x"}}))
    >>> sorted(p.name for p in fetch_export(str(repo), tempfile.mkdtemp()).iterdir())
    ['export.json', 'hyperparams.yaml']
    """
    savedir = Path(savedir)
    try:
        manifest = load_manifest(fetch_file(source, MANIFEST, savedir))
        for name in filter(is_model_file, manifest["files"]):
            fetch_file(source, name, savedir)
    except _network_errors() + (ValueError,) as err:
        raise RuntimeError(
            f"could not fetch model {source} from the hub: {err}") from err
    verify_export(savedir)
    return savedir


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
