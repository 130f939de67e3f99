"""Import benchmark: how long `import_flow` takes on a large OpenAPI YAML file (3 MB, and the size limit).

API Gateway gives a request 29 s; the import is one step of that request, so at the size limit it must
stay well under. The documents are generated deterministically: a realistic API (operations with path
and query parameters, responses pointing at component schemas, descriptions) repeated until the file
reaches the wanted size. The timed path is the real one: bytes -> `cmp.flows.import_flow`.

    .venv/bin/python bench/import_bench.py [--runs 5] [--sizes 3000000,max]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from cmp.flows import MAX_IMPORT_BYTES, import_flow

HEADER = """openapi: 3.0.3
info:
  title: Generated inventory API
  version: 1.0.0
  description: A large generated API used to time imports.
servers:
  - url: https://api.example.com/v1
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
paths:
"""

OPERATION = """  /warehouses/{{warehouseId}}/items{index}/{{itemId}}:
    get:
      operationId: getItem{index}
      summary: Read item {index}
      description: Returns one item of group {index}, with its stock level and price & currency.
      tags: [items, group{group}]
      parameters:
        - name: warehouseId
          in: path
          required: true
          schema: {{type: string, format: uuid}}
        - name: itemId
          in: path
          required: true
          schema: {{type: string}}
        - name: expand
          in: query
          schema: {{type: array, items: {{type: string, enum: [stock, price, supplier]}}}}
      responses:
        '200':
          description: The item
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties:
                  id: {{type: string}}
                  name: {{type: string, maxLength: 120}}
                  price: {{type: number, minimum: 0}}
                  updatedAt: {{type: string, format: date-time, example: 2024-05-01T10:00:00Z}}
        '404':
          description: No such item
          content:
            application/json:
              schema:
                type: object
                properties:
                  error: {{type: string, example: not_found}}
                  message: {{type: string, example: "No item {index} in this warehouse"}}
    put:
      operationId: putItem{index}
      summary: Replace item {index}
      description: >-
        Replaces every field of item {index}. Fields left out are cleared; send the whole item as read
        from the GET operation, changed where needed. The price is in the warehouse's currency.
        Items shared between warehouses are replaced in this warehouse only; the others keep theirs.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {{type: string}}
                price: {{type: number}}
                tags: {{type: array, items: {{type: string}}, maxItems: 20}}
      responses:
        '204':
          description: Replaced
"""


def openapi_yaml(size: int) -> bytes:
    """A valid OpenAPI 3.0 YAML document of at most `size` bytes (and close to it)."""
    parts = [HEADER]
    total = len(HEADER)
    index = 0
    while True:
        block = OPERATION.format(index=index, group=index % 17)
        if total + len(block) > size:
            break
        parts.append(block)
        total += len(block)
        index += 1
    return "".join(parts).encode("utf-8")


def time_import(content: bytes, runs: int) -> tuple[float, float, int]:
    """(median wall-clock seconds, median CPU seconds, tools found) over `runs` imports.

    CPU time is printed too because a busy machine stretches wall-clock time, not CPU time.
    """
    wall: list[float] = []
    cpu: list[float] = []
    tools = 0
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = import_flow(content, filename="generated.openapi.yaml")
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        tools = len(result.components)
    return statistics.median(wall), statistics.median(cpu), tools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="imports per size; the median is printed")
    parser.add_argument(
        "--sizes", default="3000000,max", help="comma-separated byte sizes; 'max' is the import size limit"
    )
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, median of {args.runs} runs")
    for label in args.sizes.split(","):
        size = MAX_IMPORT_BYTES if label.strip() == "max" else int(label)
        content = openapi_yaml(size)
        wall, cpu, tools = time_import(content, args.runs)
        print(f"{len(content):>9,} bytes  {tools:>5} tools  {wall:6.2f} s wall  {cpu:6.2f} s CPU")


if __name__ == "__main__":
    main()
