"""Makes what `scripts/bench-cost trail` drives, on one server, and writes the request bodies and
the caller's credentials into a directory.

Both sides get a KMS key and a ciphertext for the root user to decrypt. The variant also gets
CloudTrail, CloudWatch Logs and EventBridge at work: a logging trail with log file validation
that streams every record to a log group, and 100 enabled rules on the default bus (exact,
prefix, anything-but and numeric patterns over API call events), each with a log group target.

    python scripts/trail-setup.py <endpoint url> <output directory> baseline|variant
"""

import base64
import json
import os
import sys

import boto3

url, out, side = sys.argv[1:4]
REGION = "us-east-1"
ACCOUNT = "000000000000"
CREDENTIALS = ("test", "test")


def client(service):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS[0],
        aws_secret_access_key=CREDENTIALS[1],
    )


kms = client("kms")
key = kms.create_key()["KeyMetadata"]["Arn"]
ciphertext = kms.encrypt(KeyId=key, Plaintext=b"x" * 64)["CiphertextBlob"]

if side == "variant":
    logs = client("logs")
    logs.create_log_group(logGroupName="bench-trail")
    logs.create_log_group(logGroupName="bench-rule-targets")
    trail = client("cloudtrail")
    trail.create_trail(
        Name="bench",
        S3BucketName="bench-trail-bucket",
        EnableLogFileValidation=True,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:bench-trail:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/CloudTrailToLogs",
    )
    trail.start_logging(Name="bench")
    events = client("events")
    target = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:bench-rule-targets"
    for index in range(100):
        detail = [
            {"eventName": [f"Operation{index}"]},
            {"eventSource": [{"prefix": f"service{index}."}]},
            {"eventName": [{"anything-but": ["Decrypt", "Encrypt", f"Operation{index}"]}],
             "awsRegion": [f"xx-region-{index}"]},
            {"requestParameters": {"numberOfBytes": [{"numeric": [">", index, "<=", index + 10]}]}},
        ][index % 4]
        pattern = {"source": ["aws.kms"], "detail-type": ["AWS API Call via CloudTrail"],
                   "detail": detail}
        events.put_rule(Name=f"bench-{index}", EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"bench-{index}", Targets=[{"Id": "logs", "Arn": target}])

# The call works before it is measured.
kms.decrypt(CiphertextBlob=ciphertext)

os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "kms-decrypt.body"), "w") as file:
    json.dump({"CiphertextBlob": base64.b64encode(ciphertext).decode()}, file)
with open(os.path.join(out, "credentials"), "w") as file:
    file.write(f"{CREDENTIALS[0]} {CREDENTIALS[1]}\n")
