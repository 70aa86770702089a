#!/usr/bin/env python3
# The seed document's Keeper post-rotation script (Python, boto3), cut down to its rotation, for
# scripts/bench.mjs: the baseline a cold `rekey rotate` and the Keeper bundle are compared with, run against the
# same IAM sandbox. Same shape as the seed: read the Gateway's base64 JSON params line from stdin, take the admin
# key from the attached records, build a boto3 IAM client, create the new key, list the keys, delete every
# other key (the seed's default mode, delete_all_keys_before_rotating unset).
#
#   echo BASE64_LINE | python3 scripts/bench-seed-rotation.py [--endpoint-url URL] [--out FILE]
#
# keeper_secrets_manager_core is not installed here (no PyPI access): where the seed reads the PAM User record
# through KSM (get_secrets) and saves the new key into it (secrets_manager.save), this script writes the new key
# to a local JSON file (--out, mode 0600) instead. The seed's Keeper round trips are left out, so the baseline is
# if anything faster than the real seed script: a conservative comparison.
import base64
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError, NoCredentialsError  # noqa: F401 (the seed's imports)


def arg(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


endpoint_url = arg("--endpoint-url", os.environ.get("AWS_ENDPOINT_URL"))
out_file = arg("--out", "bench-seed-rotation.json")

# sys.stdin is not an array, it cannot be subscripted (i.e., sys.stdin[0])
for base64_params in sys.stdin:
    # Retrieve params from the gateway
    params = json.loads(base64.b64decode(base64_params).decode("utf-8"))
    break

# Retrieve records attached to the post-rotation script in Keeper
records = json.loads(base64.b64decode(params.get("records")).decode("utf-8"))
user_name = params.get("user")


def create_new_access_key(iam_client, user_name: str) -> tuple:
    new_key = iam_client.create_access_key(UserName=user_name)
    return (
        new_key["AccessKey"]["AccessKeyId"],
        new_key["AccessKey"]["SecretAccessKey"],
        new_key["AccessKey"]["CreateDate"],
    )


def rotate_user_access_key(iam_client, user_name: str) -> dict:
    if not user_name:
        raise ValueError("User name is required for rotation")
    # Step 1: Create a new access key for the user
    new_access_key_id, new_secret_access_key, create_date = create_new_access_key(iam_client, user_name)
    print(f"New Access Key created successfully for user {user_name}")
    # Step 2: List all existing access keys for the user
    existing_keys = iam_client.list_access_keys(UserName=user_name)
    deleted_keys = [
        k["AccessKeyId"] for k in existing_keys["AccessKeyMetadata"] if k["AccessKeyId"] != new_access_key_id
    ]
    # Step 3: Delete all other access keys, except the newly created one
    for access_key_id in deleted_keys:
        iam_client.delete_access_key(UserName=user_name, AccessKeyId=access_key_id)
    return {
        "NewAccessKeyId": new_access_key_id,
        "NewSecretAccessKey": new_secret_access_key,
        "CreateDate": create_date,
        "DeletedAccessKeys": deleted_keys,
    }


iam_client = None
for record in records:
    if "aws_access_key_id" in record:
        print(f"Admin access key provided. Using Access Key ID {record['aws_access_key_id']}, from record UID {record['uid']}.")
        # Initialize IAM client with admin credentials
        iam_client = boto3.client(
            "iam",
            aws_access_key_id=record["aws_access_key_id"],
            aws_secret_access_key=record["aws_secret_access_key"],
            region_name="us-east-1",
            endpoint_url=endpoint_url,
        )
        break
if iam_client is None:
    raise RuntimeError("No admin access key provided. The script will exit.")

result = rotate_user_access_key(iam_client, user_name=user_name)
print("\nRotation Result:")
print(f"New Access Key ID: {result['NewAccessKeyId']}")
print(f"Create Date: {result['CreateDate']}")
print(f"Deleted Access Keys: {result['DeletedAccessKeys']}")

# Where the seed saves the PAM User record through KSM (secrets_manager.save): a local file, written 0600.
create_date = result["CreateDate"]
saved = {
    "aws_access_key_id": result["NewAccessKeyId"],
    "aws_secret_access_key": result["NewSecretAccessKey"],
    "CreateDate": create_date.isoformat() if hasattr(create_date, "isoformat") else str(create_date),
    "Access_Key_ID_Removed_during_previous_rotation": ", ".join(result["DeletedAccessKeys"]),
}
fd = os.open(out_file + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(saved, f)
os.replace(out_file + ".tmp", out_file)
