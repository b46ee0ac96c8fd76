#!/bin/bash
#SBATCH --job-name=${job_name}
#SBATCH --nodes=${nodes}
#SBATCH --ntasks-per-node=${tasks_per_node}
#SBATCH --cpus-per-task=${cpus_per_task}
#SBATCH --mem=${memory}
#SBATCH --output=${log}
#SBATCH --open-mode=append
#SBATCH --requeue
#SBATCH --signal=B:TERM@120
${directives}
# Rendered by `deterrence submit ${config} --system slurm --mode ${mode}`.
# SIGTERM (two minutes before the time limit, or on preemption) makes the
# run save its checkpoint and exit 75; the job then requeues itself and the
# next start resumes where this one stopped (--resume).
set -u
cd ${workdir}
${prologue}
${command} &
child=$$!
trap 'kill -TERM $$child' TERM
wait $$child
status=$$?
if [ $$status -gt 128 ]; then wait $$child; status=$$?; fi
if [ $$status -eq 75 ]; then ${requeue}; fi
exit $$status
