"""What terraform/modules/app_scaling and `python -m deploy` leave in AWS for the instances to
read at boot, made in the emulator with boto3; run inside the moto venv with aws.terraform_env()'s
environment (the region, fake credentials), prints one JSON document.

python asg_seed.py ENDPOINT environment NAME < {"env": {...}, "secret": {...}, "db_user": ...,
                                                "db_password": ...}
    The release bucket (versioned, KMS-encrypted, public access blocked), the release pointer at
    "none", env/<NAME> and secret/<NAME> SecureStrings under /NAME/app, and the RDS-managed
    password's secret (its ARN as env/DB_SECRET_ARN), all named as the module names them.
python asg_seed.py ENDPOINT release NAME RELEASE FILE
    Uploads FILE as releases/RELEASE.tar.gz and moves the pointer to RELEASE.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3

ENDPOINT, COMMAND, NAME, ARGS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
PREFIX = f"/{NAME}/app"  # the module's local.ssm_prefix


def client(name: str) -> Any:
    # The region and the fake credentials come from the environment (aws.terraform_env).
    return boto3.client(name, endpoint_url=ENDPOINT)


def bucket_name() -> str:
    """The module's local.release_bucket."""
    return f"{NAME}-releases-{client('sts').get_caller_identity()['Account']}"


def key_id() -> str:
    return client("kms").describe_key(KeyId=f"alias/{NAME}")["KeyMetadata"]["Arn"]


def put(name: str, value: str, key: str) -> None:
    client("ssm").put_parameter(
        Name=f"{PREFIX}/{name}", Value=value, Type="SecureString", KeyId=key, Overwrite=True
    )


def environment() -> dict[str, str]:
    settings = json.load(sys.stdin)
    kms = client("kms")
    key = kms.create_key(Description=f"{NAME} (test)")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=f"alias/{NAME}", TargetKeyId=key)

    s3, bucket = client("s3"), bucket_name()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )

    put("release", "none", key)
    # What RDS's manage_master_user_password stores: a JSON document with the user and password.
    secret = client("secretsmanager").create_secret(
        Name=f"rds!db-{NAME}",
        SecretString=json.dumps(
            {"username": settings["db_user"], "password": settings["db_password"]}
        ),
    )["ARN"]
    for name, value in {**settings["env"], "DB_SECRET_ARN": secret}.items():
        put(f"env/{name}", value, key)
    for name, value in settings["secret"].items():
        put(f"secret/{name}", value, key)
    return {"bucket": bucket, "prefix": PREFIX, "db_secret_arn": secret}


def release() -> dict[str, str]:
    name, path = ARGS
    bucket = bucket_name()
    with open(path, "rb") as artifact:
        answer = client("s3").put_object(
            Bucket=bucket, Key=f"releases/{name}.tar.gz", Body=artifact.read()
        )
    put("release", name, key_id())
    return {"bucket": bucket, "release": name, "version_id": answer.get("VersionId", "")}


COMMANDS = {"environment": environment, "release": release}

if __name__ == "__main__":
    print(json.dumps(COMMANDS[COMMAND]()))
