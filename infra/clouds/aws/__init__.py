"""The `aws` cloud: EKS with a system pool and a GPU pool that scales from zero, ECR, in its own VPC.

Like every cloud folder: component.py (the ComponentResource and `create_platform`), settings.py (the
`liftoff:aws*` keys), mocks.py (the offline plan's answers), tags.py (cost tags); the other files each build
one part of the component. Nothing is imported here, so reading the settings never loads pulumi_aws.
"""
