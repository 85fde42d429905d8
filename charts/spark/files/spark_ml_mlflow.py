"""Example Spark ML driver: fits a pipeline on the workers, logs it to MLflow and registers it as a candidate, then
loads that version back and checks its predictions. Exits non-zero when they are off.

Spark ML saves and loads models with its executors, so the model passes through a directory every executor and the
driver see: MLFLOW_DFS_TMP, on the shared claim (the chart sets it). Under a pod's own /tmp (MLflow's default) the
executors' parts never reach the driver."""

import argparse
import json
import os
import shutil
import sys
import uuid

import mlflow
from mlflow import MlflowClient
from pyspark.ml import Pipeline
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import SparkSession

PARTITIONS = 4


def main(args):
    spark = SparkSession.builder.appName("spark-ml-mlflow").getOrCreate()
    rows = [(float(x), 2.0 * x + 1.0) for x in range(200)]
    frame = spark.createDataFrame(rows, ["x", "y"]).repartition(PARTITIONS)
    pipeline = Pipeline(stages=[VectorAssembler(inputCols=["x"], outputCol="features"),
                                LinearRegression(featuresCol="features", labelCol="y")])
    mlflow.set_experiment(args.experiment)
    with mlflow.start_run() as run:
        model = pipeline.fit(frame)
        mlflow.log_metric("rmse", model.stages[-1].summary.rootMeanSquaredError)
        info = mlflow.spark.log_model(model, artifact_path="model", registered_model_name=args.model)
    version = info.registered_model_version
    MlflowClient().set_registered_model_alias(args.model, "candidate", version)

    # Loaded through the shared directory too: the executors read the model's stages from there.
    staged = os.path.join(os.environ["MLFLOW_DFS_TMP"], f"load-{uuid.uuid4().hex}")
    os.makedirs(staged)
    loaded = mlflow.spark.load_model(f"models:/{args.model}@candidate", dst_path=staged)
    probe = spark.createDataFrame([(10.0,), (-3.0,)], ["x"])
    predicted = [row.prediction for row in loaded.transform(probe).collect()]
    shutil.rmtree(staged)
    summary = {"run_id": run.info.run_id, "model": args.model, "version": version, "predicted": predicted,
               "app_id": spark.sparkContext.applicationId}
    spark.stop()
    print(json.dumps(summary))
    return 0 if all(abs(p - (2.0 * x + 1.0)) < 1e-3 for p, x in zip(predicted, (10.0, -3.0))) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", default="spark-example")
    parser.add_argument("--model", default="spark-example")
    sys.exit(main(parser.parse_args()))
