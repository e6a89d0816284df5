# The targets' names before they became <layer>-<verb>: each one runs its new name. Removed in the
# next release (CHANGELOG.md lists the renames).
##@ Old names (removed in the next release)
.PHONY: stack rolling-restart images migrate backup restore test-stack ansible-deploy

stack: stack-up ## = stack-up
rolling-restart: stack-rolling-restart ## = stack-rolling-restart
images: compose-build ## = compose-build
migrate: db-migrate ## = db-migrate
backup: db-backup ## = db-backup
restore: db-restore ## = db-restore
test-stack: test-system ## = test-system
ansible-deploy: ansible-release ## = ansible-release
