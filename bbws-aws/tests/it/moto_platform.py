"""The shared ("once-off") platform of digest 2.7 §4.1, created in moto for the instance tests.

Run with the venv's interpreter: `python moto_platform.py ENDPOINT SUFFIX DB_ENDPOINT`. Prints the
ids as one JSON object. The platform is shared infrastructure (made by Terraform in a real
deployment), so the tests create it with boto3 rather than with the code under test.
"""

import json
import sys

import boto3


def main() -> None:
    endpoint, suffix = sys.argv[1], sys.argv[2]
    kw = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ec2 = boto3.client("ec2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(["us-east-1a", "us-east-1b"])
    ]
    sg = ec2.create_security_group(GroupName=f"ecs-tasks-{suffix}", Description="tasks", VpcId=vpc)["GroupId"]

    elb = boto3.client("elbv2", **kw)
    lb = elb.create_load_balancer(Name=f"alb-{suffix}", Subnets=subnets, SecurityGroups=[sg])
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}],
    )["Listeners"][0]["ListenerArn"]

    ecs = boto3.client("ecs", **kw)
    cluster = f"cluster-{suffix}"
    ecs.create_cluster(clusterName=cluster)
    admin = ecs.register_task_definition(
        family=f"efs-admin-{suffix}",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        # moto sums container memory when it places a task, so the container names its own.
        containerDefinitions=[{"name": "admin", "image": "amazon/aws-cli", "essential": True, "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]

    efs = boto3.client("efs", **kw)
    fs = efs.create_file_system(CreationToken=f"efs-{suffix}", Encrypted=True)["FileSystemId"]

    s3 = boto3.client("s3", **kw)
    bucket = f"bbws-archives-{suffix}"
    s3.create_bucket(Bucket=bucket)

    sm = boto3.client("secretsmanager", **kw)
    master = sm.create_secret(
        Name=f"rds-master-{suffix}",
        SecretString=json.dumps({"username": "root", "password": ""}),
    )["ARN"]

    print(
        json.dumps(
            {
                "vpc": vpc,
                "subnets": subnets,
                "sg": sg,
                "listener": listener,
                "cluster": cluster,
                "admin_task": admin,
                "fs": fs,
                "bucket": bucket,
                "master_secret": master,
            }
        )
    )


if __name__ == "__main__":
    main()
