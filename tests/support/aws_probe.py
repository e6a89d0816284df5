"""Look at the emulated AWS with boto3; run inside the moto venv with aws.terraform_env()'s
environment (the region, fake credentials), prints one JSON document.

python aws_probe.py ENDPOINT leftovers | first-ami | snapshot | scaling-snapshot PREFIX |
    create-zone DOMAIN | delete-zone ZONE_ID | release-target NAME | release-state BUCKET PREFIX
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from typing import Any

import boto3

ENDPOINT, COMMAND, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]


def client(name: str) -> Any:
    # The region and the fake credentials come from the environment (aws.terraform_env).
    return boto3.client(name, endpoint_url=ENDPOINT)


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
        # The elastic app tier (app_scaling = "asg").
        "buckets": [b["Name"] for b in client("s3").list_buckets().get("Buckets", [])],
        "load_balancers": [
            lb["LoadBalancerName"]
            for lb in client("elbv2").describe_load_balancers()["LoadBalancers"]
        ],
        "target_groups": [
            tg["TargetGroupName"] for tg in client("elbv2").describe_target_groups()["TargetGroups"]
        ],
        "auto_scaling_groups": [
            g["AutoScalingGroupName"]
            for g in client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
        ],
        "launch_templates": [
            t["LaunchTemplateName"] for t in ec2.describe_launch_templates()["LaunchTemplates"]
        ],
        "certificates": [
            c["CertificateArn"] for c in client("acm").list_certificates()["CertificateSummaryList"]
        ],
        "parameters": [
            p["Name"] for p in client("ssm").describe_parameters().get("Parameters", [])
        ],
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


def tag(resource: dict[str, Any], key: str) -> str | None:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}.get(key)


def scaling_snapshot(prefix: str) -> dict[str, Any]:
    """The elastic app tier as AWS reports it, for the asg-mode tests to check."""
    ec2, elbv2, autoscaling, s3 = (
        client("ec2"),
        client("elbv2"),
        client("autoscaling"),
        client("s3"),
    )
    [group] = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    policies = autoscaling.describe_policies(AutoScalingGroupName=group["AutoScalingGroupName"])
    [lb] = elbv2.describe_load_balancers()["LoadBalancers"]
    lb_attributes = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])[
            "Attributes"
        ]
    }
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    [target_group] = elbv2.describe_target_groups()["TargetGroups"]
    template_id = group["LaunchTemplate"]["LaunchTemplateId"]
    [version] = ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=["$Latest"]
    )["LaunchTemplateVersions"]
    [bucket] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    public_access = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    ssm = client("ssm")
    # Ten parameters a page: read them all.
    pages = ssm.get_paginator("get_parameters_by_path").paginate(
        Path=prefix, Recursive=True, WithDecryption=True
    )
    parameters = [p for page in pages for p in page["Parameters"]]
    certificates = [
        client("acm").describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"]
        for c in client("acm").list_certificates()["CertificateSummaryList"]
    ]
    route53 = client("route53")
    records = [
        r
        for zone in route53.list_hosted_zones()["HostedZones"]
        for r in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    ]
    subnets = ec2.describe_subnets(SubnetIds=group["VPCZoneIdentifier"].split(","))["Subnets"]
    lb_subnets = ec2.describe_subnets(SubnetIds=[z["SubnetId"] for z in lb["AvailabilityZones"]])[
        "Subnets"
    ]
    return {
        "group": {
            "min": group["MinSize"],
            "max": group["MaxSize"],
            "desired": group["DesiredCapacity"],
            "health_check_type": group.get("HealthCheckType"),
            "target_groups": group.get("TargetGroupARNs", []),
            "instances": len(group["Instances"]),
            "subnet_tiers": [tag(s, "Tier") for s in subnets],
            "propagated_tags": {
                t["Key"]: t["Value"] for t in group.get("Tags", []) if t.get("PropagateAtLaunch")
            },
        },
        "policies": [
            {
                "type": p.get("PolicyType"),
                "metric": p.get("TargetTrackingConfiguration", {})
                .get("PredefinedMetricSpecification", {})
                .get("PredefinedMetricType"),
                "target": p.get("TargetTrackingConfiguration", {}).get("TargetValue"),
            }
            for p in policies["ScalingPolicies"]
        ],
        "load_balancer": {
            # moto leaves Scheme out of its answer when the request did not name it.
            "scheme": lb.get("Scheme"),
            "dns_name": lb["DNSName"],
            "type": lb.get("Type"),
            "subnet_tiers": [tag(s, "Tier") for s in lb_subnets],
            "attributes": lb_attributes,
        },
        "listeners": [
            {
                "port": listener["Port"],
                "protocol": listener["Protocol"],
                "certificates": [c["CertificateArn"] for c in listener.get("Certificates", [])],
                "ssl_policy": listener.get("SslPolicy"),
                "action": listener["DefaultActions"][0].get("Type"),
                "redirect": listener["DefaultActions"][0].get("RedirectConfig"),
            }
            for listener in listeners
        ],
        "target_group": {
            "arn": target_group["TargetGroupArn"],
            "port": target_group.get("Port"),
            "protocol": target_group.get("Protocol"),
            "health_path": target_group.get("HealthCheckPath"),
        },
        "launch_template": {
            "metadata": version["LaunchTemplateData"].get("MetadataOptions", {}),
            "volumes": [
                m.get("Ebs", {})
                for m in version["LaunchTemplateData"].get("BlockDeviceMappings", [])
            ],
            "profile": version["LaunchTemplateData"].get("IamInstanceProfile", {}),
            "instance_tags": {
                t["Key"]: t["Value"]
                for spec in version["LaunchTemplateData"].get("TagSpecifications", [])
                if spec["ResourceType"] == "instance"
                for t in spec.get("Tags", [])
            },
            "user_data": version["LaunchTemplateData"].get("UserData", ""),
        },
        "bucket": {
            "name": bucket,
            "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
            "public_access_block": public_access,
            "encryption": encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"],
        },
        "parameters": {p["Name"]: {"type": p["Type"], "value": p["Value"]} for p in parameters},
        "certificates": [
            {"arn": c["CertificateArn"], "domain": c["DomainName"], "status": c["Status"]}
            for c in certificates
        ],
        # The site's own records (not the zone's SOA/NS, nor the certificate's validation CNAME).
        "records": [
            {
                "name": r["Name"],
                "type": r["Type"],
                "alias": r.get("AliasTarget", {}).get("DNSName"),
                "health": r.get("AliasTarget", {}).get("EvaluateTargetHealth"),
            }
            for r in records
            if r["Type"] not in ("SOA", "NS", "CNAME")
        ],
    }


def create_zone(domain: str) -> str:
    zone = client("route53").create_hosted_zone(Name=domain, CallerReference=domain)
    return zone["HostedZone"]["Id"].split("/")[-1]


def delete_zone(zone_id: str) -> str:
    route53 = client("route53")
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    left = [r["Name"] for r in records if r["Type"] not in ("SOA", "NS")]
    route53.delete_hosted_zone(Id=zone_id)
    return ",".join(left)


def release_target(name: str) -> dict[str, str]:
    """What Terraform's app_scaling module gives a release, without an apply: a KMS key, the
    release bucket and the release pointer reading "none"."""
    key = client("kms").create_key(Description=name)["KeyMetadata"]["Arn"]
    bucket = f"{name}-releases"
    client("s3").create_bucket(Bucket=bucket)
    prefix = f"/{name}/app"
    client("ssm").put_parameter(
        Name=f"{prefix}/release", Value="none", Type="SecureString", KeyId=key
    )
    return {"key": key, "bucket": bucket, "prefix": prefix}


def release_state(bucket: str, prefix: str) -> dict[str, Any]:
    """The artifacts in the bucket (with their file names) and the parameters under the path."""
    s3, ssm = client("s3"), client("ssm")
    artifacts = {}
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="releases/").get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            artifacts[item["Key"]] = archive.getnames()
    described = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [prefix]}]
    )["Parameters"]
    parameters = {
        p["Name"]: {
            "key": p.get("KeyId"),
            "value": ssm.get_parameter(Name=p["Name"], WithDecryption=True)["Parameter"]["Value"],
        }
        for p in described
    }
    return {"artifacts": artifacts, "parameters": parameters}


COMMANDS = {
    "leftovers": leftovers,
    "first-ami": first_ami,
    "snapshot": snapshot,
    "scaling-snapshot": scaling_snapshot,
    "create-zone": create_zone,
    "delete-zone": delete_zone,
    "release-target": release_target,
    "release-state": release_state,
}
print(json.dumps(COMMANDS[COMMAND](*ARGS)))
