"""One-line errors for every command of the package (the ``speechbrain-ee``
sub-commands, the recipes' ``train.py``, the preparation scripts): what went
wrong, the file or option at stake and what to do, and the exit status;
never a traceback for an ordinary mistake.

Exit status 2 (usage): the command asked for something wrong: an option, a
path that does not exist, a folder that must not be overwritten, a model
that is not an export (``ValueError``, ``UsageError``,
``FileNotFoundError``, ``FileExistsError``, ``NotADirectoryError``,
``IsADirectoryError``, ``RuntimeError``). Exit status 1 (failure): the
machine stopped it: a read-only folder, a full disk, no permission (any
other ``OSError``), or Ctrl-C. This module is the lowest floor of the
package: it imports nothing from it.

Authors
-------
* speechbrain-ee contributors 2026
"""

import errno
import logging
import sys

logger = logging.getLogger(__name__)

USAGE = 2
FAILURE = 1
USAGE_ERRORS = (ValueError, RuntimeError, FileNotFoundError, FileExistsError,
                NotADirectoryError, IsADirectoryError)
# What `run_command` reports in one line: the sub-commands' errors, and for
# the recipes' train.py the same but RuntimeError (raised by torch in
# training: a bug or an exhausted memory, whose traceback is what to report).
COMMAND_ERRORS = (OSError, ValueError, RuntimeError, KeyboardInterrupt)
RECIPE_ERRORS = (OSError, ValueError, KeyboardInterrupt)
ADVICE = {  # errno -> what to do
    errno.ENOSPC: "free some space there or choose another folder, then run the "
                  "command again",
    errno.EDQUOT: "free some space there or choose another folder, then run the "
                  "command again",
    errno.EROFS: "choose a writable folder",
    errno.EACCES: "check its permissions or choose another folder",
    errno.EPERM: "check its permissions or choose another folder",
}


class UsageError(ValueError):
    """A mistake in the command (an option, a path): exit status 2.

    Example
    -------
    >>> error_line(UsageError("--device cuda: no GPU; use --device cpu"))
    (2, '--device cuda: no GPU; use --device cpu')
    """


def error_line(err, where=None):
    """The exit status and the one line that report ``err``.

    Arguments
    ---------
    err : BaseException
        What stopped the command.
    where : str, optional
        The file or option at stake, named when ``err`` names none (e.g.
        ``"--out corpora"``).

    Returns
    -------
    tuple
        ``(status, message)``.

    Example
    -------
    >>> error_line(OSError(errno.ENOSPC, "No space left on device", "c/a.flac"))
    (1, 'c/a.flac: No space left on device; free some space there or choose another folder, then run the command again')
    >>> error_line(PermissionError(errno.EACCES, "Permission denied"), where="--out c")
    (1, '--out c: Permission denied; check its permissions or choose another folder')
    >>> error_line(KeyboardInterrupt())
    (1, 'interrupted; run the same command again to go on')
    >>> error_line(FileNotFoundError("data folder x not found"))
    (2, 'data folder x not found')
    """
    if isinstance(err, KeyboardInterrupt):
        return FAILURE, "interrupted; run the same command again to go on"
    status = USAGE if isinstance(err, USAGE_ERRORS) else FAILURE
    if isinstance(err, OSError) and err.strerror:  # raised by the system
        name = err.filename if err.filename is not None else where
        message = f"{name}: {err.strerror}" if name is not None else err.strerror
        if err.errno in ADVICE:
            message += f"; {ADVICE[err.errno]}"
        return status, message
    message = " ".join(str(err).split()) or type(err).__name__
    return status, message


def run_command(prog, func, *args, where=None, catch=None, **kwargs):
    """Runs a command's function; an ordinary error becomes one line on
    stderr (``<prog>: error: ...``, the traceback at debug level in the log)
    and its exit status.

    Arguments
    ---------
    prog : str
        The command's name, for the message.
    func : callable
        The command; returns None or an exit status.
    *args, **kwargs
        Its arguments.
    where : str, optional
        See `error_line`.
    catch : tuple of type, optional
        The errors reported so (default: `COMMAND_ERRORS`); others keep
        their traceback.

    Returns
    -------
    int
        The exit status.

    Example
    -------
    >>> def fail(path):
    ...     raise FileNotFoundError(f"{path} not found; give a run folder.")
    >>> run_command("demo", fail, "x")  # stderr: demo: error: x not found; ...
    2
    >>> run_command("demo", lambda: None)
    0
    """
    catch = catch or COMMAND_ERRORS
    try:
        status = func(*args, **kwargs)
    except catch as err:
        status, message = error_line(err, where)
        logger.debug("%s stopped", prog, exc_info=err)
        print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
        return status
    return 0 if status is None else int(status)
