"""The nginx site and the systemd unit of docs/deploy.md are checked by the tools that will read them.

Where nginx or systemd-analyze is missing the check is skipped with the reason; `.ci/run` installs nginx
so that CI always checks the site.
"""
from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEPLOY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "deploy")
SITE = os.path.join(DEPLOY, "nginx-seizure-registry.conf")
UNIT = os.path.join(DEPLOY, "seizure-registry.service")


def _tool(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)),
                                       None)
    if found is None:
        if os.environ.get("CI") == "true" and name == "nginx":
            pytest.fail("CI installs nginx (.ci/run) but it is not on this machine")
        pytest.skip(f"{name} is not installed")
    return found


def _self_signed(folder) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "registry.example.court")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (folder / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))


def _nginx_t(tmp_path, site_text: str) -> subprocess.CompletedProcess:
    site = tmp_path / "site.conf"
    site.write_text(site_text.replace("/etc/ssl/seizure-registry/", f"{tmp_path}/"), encoding="utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{\n access_log off;\n include {site};\n}}\n", encoding="utf-8")
    return subprocess.run([_tool("nginx"), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                           "-c", str(main)], capture_output=True, text=True, timeout=30)


def test_the_nginx_site_of_the_deploy_guide_passes_nginx_t(tmp_path):
    _self_signed(tmp_path)
    with open(SITE, encoding="utf-8") as f:
        site = f.read()
    checked = _nginx_t(tmp_path, site)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    broken = _nginx_t(tmp_path, site.replace("proxy_read_timeout 130s;", "proxy_read_timeout;"))
    assert broken.returncode != 0  # the check really reads the site


def test_the_nginx_site_sets_what_the_guide_promises():
    with open(SITE, encoding="utf-8") as f:
        site = f.read()
    for directive in ("server 127.0.0.1:8000", "Strict-Transport-Security", "client_header_timeout",
                      "client_body_timeout", "proxy_request_buffering on", "proxy_buffering on",
                      "X-Forwarded-For $remote_addr", "return 444"):
        assert directive in site


def test_the_systemd_unit_of_the_deploy_guide_passes_systemd_analyze_verify(tmp_path):
    analyze = _tool("systemd-analyze")
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    with open(UNIT, encoding="utf-8") as f:
        unit = f.read()
    assert "--bind 127.0.0.1:8000" in unit and "registry.wsgi:app" in unit
    checked = tmp_path / "seizure-registry.service"
    checked.write_text(unit.replace("/opt/seizure-registry/bin/gunicorn", gunicorn), encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(checked)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert done.returncode == 0, done.stderr
    checked.write_text(unit.replace("Type=simple", "Type=simpel"), encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(checked)], capture_output=True, text=True, timeout=60)
    assert "simpel" in done.stderr
