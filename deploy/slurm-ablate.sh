#!/bin/bash
# halftrace ablate on a Slurm cluster: one array task per shard (sbatch deploy/slurm-ablate.sh).
# A task that is requeued or started again resumes its own shard; merge once all have finished:
#   halftrace ablate --merge runs/ablate --out runs/ablate --plots plots
#SBATCH --job-name=halftrace-ablate
#SBATCH --array=0-15
#SBATCH --cpus-per-task=2
#SBATCH --time=24:00:00
halftrace ablate --seeds 3 --shard "$SLURM_ARRAY_TASK_ID/16" --out runs/ablate
