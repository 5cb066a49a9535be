"""What every app uses and that depends on no app: domain errors (more moves here with the issue
"One house")."""
