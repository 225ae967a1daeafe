"""`make bench`: end-to-end benchmarks of Roost against moto, driven through boto3."""
