"""Look at the emulated AWS with boto3; run inside the moto venv, prints one JSON document.

python aws_probe.py ENDPOINT leftovers | first-ami | snapshot
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3

ENDPOINT, COMMAND = sys.argv[1], sys.argv[2]


def client(name: str) -> Any:
    return boto3.client(
        name,
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def live_instances() -> list[dict[str, Any]]:
    reservations = client("ec2").describe_instances()["Reservations"]
    return [
        i
        for r in reservations
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")
    ]


def customer_kms_keys() -> list[str]:
    kms = client("kms")
    keys = []
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] not in (
            "PendingDeletion",
            "Disabled",
        ):
            keys.append(key["KeyId"])
    return keys


def leftovers() -> dict[str, list[str]]:
    """Everything a deploy may create that is still alive (the emulator's defaults excluded)."""
    ec2, rds, iam = client("ec2"), client("rds"), client("iam")
    groups = ec2.describe_security_groups()["SecurityGroups"]
    nats = ec2.describe_nat_gateways()["NatGateways"]
    left = {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
        "instances": [i["InstanceId"] for i in live_instances()],
        "security_groups": [g["GroupId"] for g in groups if g["GroupName"] != "default"],
        "addresses": [a.get("AllocationId", "") for a in ec2.describe_addresses()["Addresses"]],
        "nat_gateways": [
            n["NatGatewayId"] for n in nats if n["State"] not in ("deleted", "deleting")
        ],
        "key_pairs": [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]],
        "flow_logs": [f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]],
        "db_instances": [
            d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]
        ],
        "db_subnet_groups": [
            g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
        ],
        "iam_roles": [
            r["RoleName"]
            for r in iam.list_roles()["Roles"]
            if not r["Path"].startswith("/aws-service-role/")
        ],
        "instance_profiles": [
            p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]
        ],
        "log_groups": [
            g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]
        ],
        "kms_keys": customer_kms_keys(),
    }
    return {kind: names for kind, names in left.items() if names}


def first_ami() -> str:
    images = client("ec2").describe_images(Owners=["amazon"])["Images"]
    return sorted(i["ImageId"] for i in images)[0]


def snapshot() -> dict[str, Any]:
    """What the tests check after an apply: instances, firewall rules, databases, secrets."""
    ec2, rds = client("ec2"), client("rds")
    groups = ec2.describe_security_groups()["SecurityGroups"]
    names = {g["GroupId"]: g["GroupName"] for g in groups}
    rules = []
    for group in groups:
        for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
            for perm in group[key]:
                peers = [
                    names.get(p["GroupId"], p["GroupId"]) for p in perm.get("UserIdGroupPairs", [])
                ]
                cidrs = [r["CidrIp"] for r in perm.get("IpRanges", [])]
                for source in [*peers, *cidrs]:
                    rules.append(
                        {
                            "group": group["GroupName"],
                            "vpc": group.get("VpcId"),
                            "direction": direction,
                            "protocol": perm.get("IpProtocol"),
                            "port": perm.get("FromPort"),
                            "to_port": perm.get("ToPort"),
                            "peer": source,
                        }
                    )
    instances = [
        {
            "role": {t["Key"]: t["Value"] for t in i.get("Tags", [])}.get("Role"),
            "private_ip": i.get("PrivateIpAddress"),
            "public_ip": i.get("PublicIpAddress"),
            "subnet": i.get("SubnetId"),
            "groups": [g["GroupName"] for g in i.get("SecurityGroups", [])],
            "http_tokens": i.get("MetadataOptions", {}).get("HttpTokens"),
        }
        for i in live_instances()
    ]
    databases = []
    secrets = []
    for db in rds.describe_db_instances()["DBInstances"]:
        secret_arn = (db.get("MasterUserSecret") or {}).get("SecretArn")
        databases.append(
            {
                "id": db["DBInstanceIdentifier"],
                "encrypted": db.get("StorageEncrypted"),
                "public": db.get("PubliclyAccessible"),
                "secret_arn": secret_arn,
                "groups": [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])],
            }
        )
        if secret_arn:
            value = client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
            secrets.append(json.loads(value).get("password", value))
    return {
        "rules": rules,
        "instances": instances,
        "databases": databases,
        "secrets": secrets,
        "group_ids": {name: gid for gid, name in names.items()},
    }


print(json.dumps({"leftovers": leftovers, "first-ami": first_ami, "snapshot": snapshot}[COMMAND]()))
