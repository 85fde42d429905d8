"""Example DDP training script for TorchX's dist.ddp component: every rank trains; rank 0 alone logs to MLflow, in an
experiment of its own (a service user may only read the Default one), and registers the model as a new version with
alias `candidate` (promotion to the serving alias stays a person's step: release.yml).

python submit.py dist.ddp -j 2x1 --script train_ddp.py [-- --experiment NAME --model NAME --epochs N]
"""

import argparse
import os

import mlflow
import torch
import torch.distributed as dist
from mlflow import MlflowClient
from torch.nn.parallel import DistributedDataParallel

CANDIDATE_ALIAS = "candidate"


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ddp-example", help="MLflow experiment (made when missing)")
    parser.add_argument("--model", default="ddp-example", help="registered model that gets the new version")
    parser.add_argument("--epochs", type=int, default=3)
    return parser.parse_args()


def register_candidate(model, name, run):
    """The trained model logged in run, registered as a new version of name, with alias candidate moved to it."""
    info = mlflow.pytorch.log_model(model, name="model", registered_model_name=name,
                                    input_example=torch.randn(2, 4).numpy())
    version = info.registered_model_version
    MlflowClient().set_registered_model_alias(name, CANDIDATE_ALIAS, version)
    print(f"run {run.info.run_id}: {name} version {version} is the {CANDIDATE_ALIAS}", flush=True)


def main(args):
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank()
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data, target = torch.randn(64, 4), torch.randn(64, 1)
    run = None
    if rank == 0:  # one writer: other ranks would log duplicate runs
        mlflow.set_experiment(args.experiment)
        run = mlflow.start_run(run_name=os.environ.get("TORCHX_APP_NAME", "ddp-example"))
        mlflow.log_params({"world_size": dist.get_world_size(), "epochs": args.epochs})
    for epoch in range(args.epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data), target)
        loss.backward()  # gradients are averaged across ranks here
        optimizer.step()
        if rank == 0:
            mlflow.log_metric("loss", loss.item(), step=epoch)
    if rank == 0:
        register_candidate(model.module, args.model, run)
        mlflow.end_run()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(arguments())
