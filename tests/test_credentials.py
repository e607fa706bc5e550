"""Keys: where they come from, and redaction of everything printed or stored."""

import sys
import traceback

import pytest

from bulk_updater.credentials import Credentials, Redactor, load_credentials, read_env_file, redacting_output
from bulk_updater.errors import InputError

ACCESS, SECRET = "u$r0123456789abcdef", "0123456789abcdef0123456789abcdef"
KEYS = Credentials(ACCESS, SECRET)


def test_credentials_never_print_themselves():
    assert ACCESS not in repr(KEYS) and SECRET not in str(KEYS)
    assert KEYS.headers() == {"x-LSQ-AccessKey": ACCESS, "x-LSQ-SecretKey": SECRET}


def test_redact_masks_keys_as_written_and_as_a_url_carries_them():
    text = f"GET /x?accessKey=u%24r0123456789abcdef&secretKey={SECRET} by {ACCESS}"
    assert KEYS.redact(text) == "GET /x?accessKey=***&secretKey=*** by ***"


def test_redact_masks_the_longer_key_first():
    # The access key is part of the secret key: masking it first would leave the secret's tail.
    keys = Credentials("abcdefgh12", "abcdefgh12-and-more")
    assert keys.redact("abcdefgh12-and-more") == "***"


def test_env_file_lines(tmp_path):
    path = tmp_path / "lsq.env"
    path.write_text("# keys\nexport LSQ_ACCESS_KEY=u$r1\nLSQ_SECRET_KEY='p$ss ${HOME} #x'  # a comment\nLSQ_HOST=\"https://api-in21.leadsquared.com\"\nEMPTY\n")
    assert read_env_file(path) == {
        "LSQ_ACCESS_KEY": "u$r1",
        "LSQ_SECRET_KEY": "p$ss ${HOME} #x",  # no interpolation: a secret arrives exactly as written
        "LSQ_HOST": "https://api-in21.leadsquared.com",
    }


@pytest.mark.parametrize("name", ["missing.env", "."])
def test_an_unreadable_env_file_is_bad_input(tmp_path, name):
    with pytest.raises(InputError, match="can't read the env file"):
        read_env_file(tmp_path / name)


def test_keys_from_the_environment_are_trimmed():
    keys = load_credentials({"LSQ_ACCESS_KEY": f" {ACCESS}\n", "LSQ_SECRET_KEY": SECRET})
    assert (keys.access_key, keys.secret_key) == (ACCESS, SECRET)


def test_only_missing_keys_are_asked_for():
    asked = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return SECRET

    keys = load_credentials({"LSQ_ACCESS_KEY": ACCESS}, ask)
    assert keys.secret_key == SECRET
    [prompt] = asked
    assert "secret key" in prompt and "hidden" in prompt


def test_missing_keys_without_a_terminal_are_bad_input():
    with pytest.raises(InputError, match="LSQ_SECRET_KEY is not set") as error:
        load_credentials({"LSQ_ACCESS_KEY": ACCESS})
    assert "--env-file" in str(error.value)
    with pytest.raises(InputError, match="LSQ_ACCESS_KEY and LSQ_SECRET_KEY are not set"):
        load_credentials({}, lambda prompt: "  ")

    def end_of_input(prompt: str) -> str:
        raise EOFError

    with pytest.raises(InputError, match="LSQ_ACCESS_KEY and LSQ_SECRET_KEY are not set"):
        load_credentials({}, end_of_input)


def test_output_streams_are_redacted_tracebacks_included(capsys):
    redactor = Redactor()
    redactor.protect(KEYS)
    with redacting_output(redactor):
        print(f"the key is {ACCESS}")
        try:
            raise RuntimeError(f"failed with {SECRET}")
        except RuntimeError:
            traceback.print_exc()
        sys.stderr.writelines([f"{SECRET}\n"])
    out, err = capsys.readouterr()
    assert out == "the key is ***\n"
    assert "RuntimeError: failed with ***" in err and SECRET not in err and ACCESS not in out
    assert not hasattr(sys.stdout, "_redact")  # the streams are restored
