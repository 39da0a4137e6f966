"""Launch options that protect the user: the default port, a busy port, a login off loopback.

The servers are real (child processes on loopback); only the ports they meet are arranged.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

import webui
from tests.integration.test_webui import (
    free_port,
    running_ui,
    ui_command,
    wait_for_output,
    wait_for_page,
)

# GPT-SoVITS's ports (config.py at upstream 48b1a01): proofreading 9871, inference 9872,
# UVR5 9873, main web UI 9874, API 9880.
GPT_SOVITS_PORTS = {9871, 9872, 9873, 9874, 9880}


def test_default_port_is_none_of_gpt_sovits_ports(tmp_path) -> None:
    assert webui.DEFAULT_PORT not in GPT_SOVITS_PORTS
    args = webui.build_parser().parse_args(["--workspace", str(tmp_path)])
    assert webui.apply_saved_settings(args) == () and args.port == webui.DEFAULT_PORT


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert webui.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "my-server.lan"])
def test_hosts_other_computers_can_reach(host: str) -> None:
    assert not webui.is_loopback(host)


def test_a_non_loopback_host_gets_a_generated_login() -> None:
    auth, generated = webui.resolve_auth(share=False, auth=None, host="0.0.0.0")
    assert generated and auth is not None and auth[0] == webui.LOGIN_USER
    assert len(auth[1]) >= 16
    assert webui.resolve_auth(share=False, auth=("me", "pw"), host="0.0.0.0") == (
        ("me", "pw"), False)
    assert webui.resolve_auth(share=False, auth=None, host="localhost") == (None, False)


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_impossible_ports_are_usage_errors(port: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        webui.build_parser().parse_args(["--port", port])
    assert info.value.code == 2
    assert "not a port number" in capsys.readouterr().err


def test_pick_port_skips_busy_ports() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        chosen = webui.pick_port("127.0.0.1", taken)
        assert chosen > taken
        assert webui.pick_port("127.0.0.1", chosen) == chosen  # a free port is kept


def test_busy_port_falls_back_to_the_next_free_one_and_says_which(tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", free_port()))
        busy.listen()
        taken = busy.getsockname()[1]
        with running_ui(ui_command("--port", str(taken), "--workspace", str(tmp_path))) as ui:
            # The notice comes before the launch; the page then answers on the port it names.
            found = wait_for_output(ui, rf"Port {taken} is in use; GSV Studio uses port (\d+)")
            port = int(found.group(1))
            assert port != taken
            assert b"GSV Studio" in wait_for_page(ui, port)


def _login(port: int, user: str, password: str) -> int:
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", data=form,
                                    timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def test_all_interfaces_host_requires_the_printed_login(tmp_path) -> None:
    """--host 0.0.0.0 (reached here through loopback) asks for the generated password,
    which is printed exactly once."""
    port = free_port()
    command = ui_command("--host", "0.0.0.0", "--port", str(port), "--workspace", str(tmp_path))
    with running_ui(command) as ui:
        wait_for_page(ui, port)  # the login page
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5)
        refused.value.close()
        assert refused.value.code == 401
        password = wait_for_output(ui, r"password: (\S+)")
        printed = ui.output()
        assert printed.count(password.group(1)) == 1
        assert "--host 0.0.0.0 is reachable from other computers" in printed
        assert _login(port, webui.LOGIN_USER, password.group(1) + "x") == 400
        assert _login(port, webui.LOGIN_USER, password.group(1)) == 200
        # guessing is rate-limited per address (gsv_core.api.limits): after 5 wrong ones,
        # even the right password waits
        assert [_login(port, webui.LOGIN_USER, f"guess{i}") for i in range(5)] == [400] * 5
        assert _login(port, webui.LOGIN_USER, password.group(1)) == 429


def test_an_address_this_computer_lacks_is_a_config_error() -> None:
    from gsv_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"Cannot listen on 203\.0\.113\.7") as info:
        webui.pick_port("203.0.113.7", webui.DEFAULT_PORT)  # TEST-NET-3: never local
    assert "127.0.0.1" in info.value.advice
