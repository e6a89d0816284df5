"""Terraform outputs -> Ansible inventory for ansible/site.yml: the Terraform->Ansible handoff.

Groups lb, app, db, cache as site.yml expects. Every host is reached on its private address
through the bastion (only the bastion accepts SSH from outside). `private_address` is the
address peers use (ansible/group_vars/all/main.yml wires the layers with it).
With managed PostgreSQL/Redis the db/cache groups are empty and the app hosts get the
endpoint as host variables (host variables outrank the playbook's group_vars/all).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from deploy.errors import MissingOutputsError


def _proxy_args(user: str, bastion_ip: str, ssh_key: str | None, known_hosts: str | None) -> str:
    """SSH options hopping through the bastion (ProxyCommand: unlike ProxyJump it can take -i)."""
    # accept-new: trust a host key on first sight, refuse it if it changes later.
    common = ["-o", "StrictHostKeyChecking=accept-new"]
    if known_hosts:  # one file per environment: recycled addresses never clash with other keys
        common += ["-o", f"UserKnownHostsFile={known_hosts}"]
    hop = ["ssh", "-W", "%h:%p", "-q", *common]
    if ssh_key:
        hop += ["-i", ssh_key]
    hop.append(f"{user}@{bastion_ip}")
    return shlex.join(common) + " -o ProxyCommand=" + shlex.quote(shlex.join(hop))


def _hosts(mapping: dict[str, Any], group: str) -> dict[str, dict[str, Any]]:
    if not isinstance(mapping, dict):
        raise MissingOutputsError(f"Terraform output {group}_hosts is not a map of name => address")
    hosts = {}
    for name, value in sorted(mapping.items()):
        if isinstance(value, dict):  # lb_hosts: {public_ip, private_ip}
            hosts[name] = {
                "ansible_host": value["private_ip"],
                "private_address": value["private_ip"],
                "public_address": value["public_ip"],
            }
        else:
            hosts[name] = {"ansible_host": value, "private_address": value}
    return hosts


def build_inventory(
    outputs: dict[str, Any], ssh_key: str | None = None, known_hosts: str | None = None
) -> dict[str, Any]:
    """The inventory as a dict (the YAML inventory plugin's format)."""
    user = outputs["ssh_user"]
    groups = {
        group: _hosts(outputs[f"{group}_hosts"], group) for group in ("lb", "app", "db", "cache")
    }
    if not groups["lb"] or not groups["app"]:
        raise MissingOutputsError("Terraform outputs list no load balancer or no app host")

    database, cache = outputs["database"], outputs["cache"]
    endpoints: dict[str, Any] = {}  # of the managed services, for every app host
    if database["mode"] == "managed":
        # RDS: the app connects to the endpoint over TLS (the parameter group refuses plain
        # connections); the master user is the app's user. Its password stays in Secrets Manager:
        # Ansible reads it there (deploy_db_secret_arn, ansible/group_vars/all/secrets.yml).
        endpoints.update(
            app_db_host=database["host"],
            app_db_port=database["port"],
            app_db_name=database["name"],
            app_db_user=database["username"],
            app_db_sslmode="require",
        )
    elif not groups["db"]:
        raise MissingOutputsError("database mode is ec2 but Terraform outputs list no db host")
    if cache["mode"] == "managed":
        # ElastiCache: in-transit encryption on (rediss://); its auth token is the vault's
        # vault_redis_password, the same value as Terraform's cache_auth_token.
        endpoints.update(
            app_redis_host=cache["host"], app_redis_port=cache["port"], app_redis_tls=cache["tls"]
        )
    elif not groups["cache"]:
        raise MissingOutputsError("cache mode is ec2 but Terraform outputs list no cache host")
    for host in groups["app"].values():
        host.update(endpoints)

    all_vars: dict[str, Any] = {
        "ansible_user": user,
        "ansible_ssh_common_args": _proxy_args(
            user, outputs["bastion_public_ip"], ssh_key, known_hosts
        ),
        "deploy_bastion_host": outputs["bastion_public_ip"],
        "deploy_public_url": outputs["public_url"],
        "deploy_database_mode": database["mode"],
        "deploy_cache_mode": cache["mode"],
    }
    # HTTPS: with a domain nginx gets an ACME certificate for it; without, the nginx role's
    # default (self_signed from the project CA) for the load balancers' addresses.
    tls = outputs.get("tls") or {}
    if tls.get("mode") == "acme":
        all_vars["flaskmt_domain"] = tls["domain"]
        all_vars["nginx_tls_mode"] = "acme"
        all_vars["nginx_acme_email"] = tls.get("acme_email", "")
    if ssh_key:
        all_vars["ansible_ssh_private_key_file"] = ssh_key
    if database.get("secret_arn"):
        all_vars["deploy_db_secret_arn"] = database["secret_arn"]
    children = {group: {"hosts": hosts} for group, hosts in groups.items()}
    return {"all": {"vars": all_vars, "children": children}}


def write_inventory(inventory: dict[str, Any], path: Path) -> Path:
    """Write the inventory as YAML (mode 0600: it names every host of the environment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "---\n# Generated by `python -m deploy inventory` from Terraform outputs: do not edit.\n"
    )
    path.write_text(header + yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False))
    path.chmod(0o600)
    return path
