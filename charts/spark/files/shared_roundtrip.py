"""Example client-mode driver: executors write one file per partition to the shared volume, the driver reads every
part back from its own mount of the same claim and writes a summary next to them. Exits non-zero on a mismatch."""

import json
import os
import sys
import time

from pyspark.sql import SparkSession

PARTITIONS = 4
ROWS = 1000


def main(shared):
    out = os.path.join(shared, "examples", f"roundtrip-{int(time.time() * 1000)}")
    spark = SparkSession.builder.appName("shared-volume-roundtrip").getOrCreate()

    def write(index, rows):
        values = list(rows)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"part-{index}"), "w", encoding="utf-8") as part:
            part.write("\n".join(map(str, values)))
        yield {"part": index, "rows": len(values), "pid": os.getpid()}

    written = spark.sparkContext.parallelize(range(ROWS), PARTITIONS).mapPartitionsWithIndex(write).collect()
    read = {}
    for item in written:
        with open(os.path.join(out, f"part-{item['part']}"), encoding="utf-8") as part:
            read[item["part"]] = [int(line) for line in part.read().split()]
    summary = {"dir": out, "written": written, "rows_read": sum(map(len, read.values())),
               "sum_read": sum(map(sum, read.values())), "driver_pid": os.getpid(),
               "app_id": spark.sparkContext.applicationId}
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as result:
        json.dump(summary, result)
    spark.stop()
    print(json.dumps(summary))
    return 0 if summary["rows_read"] == ROWS and summary["sum_read"] == sum(range(ROWS)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
