#!/bin/bash
#PBS -N ${job_name}
#PBS -l select=${nodes}:ncpus=${cores}:mpiprocs=${tasks_per_node}:mem=${memory}
#PBS -j oe
#PBS -o ${log}
#PBS -r y
${directives}
# Rendered by `deterrence submit ${config} --system pbs --mode ${mode}`.
# SIGTERM (preemption, or qdel) makes the run save its checkpoint and exit
# 75; the job then asks to be rerun and the next start resumes (--resume).
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
