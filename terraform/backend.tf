# State is local by default (fine for one operator trying things out).
# For a team, keep it in S3 with a DynamoDB lock: uncomment, create the bucket and the table once
# (docs/aws-manual.md, step 0), then run `terraform init -migrate-state`.
# The bucket must have versioning and default encryption on: the state holds resource IDs and, for
# managed Redis with an AUTH token, that token.
#
# terraform {
#   backend "s3" {
#     bucket         = "flaskmt-terraform-state-123456789012" # globally unique: add your account ID
#     key            = "flaskmt/prod/terraform.tfstate"
#     region         = "eu-west-1"
#     encrypt        = true
#     kms_key_id     = "alias/terraform-state"
#     dynamodb_table = "terraform-locks" # partition key "LockID" (string)
#   }
# }
