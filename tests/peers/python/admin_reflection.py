"""Calls Ferry's gRPC admin API knowing nothing but its address and token: the service
and message types come from the server's reflection (v1alpha, as grpcio-reflection's
descriptor database asks), not from the .proto file.

Usage: admin_reflection.py ADDRESS TOKEN
Prints one JSON object: the services reflection lists, GetProduction's answer as the
protobuf JSON mapping gives it, and the status code of a call with a wrong token.
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SERVICE = "ferry.admin.v1.Admin"


def main(address, token):
    channel = grpc.insecure_channel(address)
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = descriptor_pool.DescriptorPool(database)
    method = pool.FindServiceByName(SERVICE).methods_by_name["GetProduction"]
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    get_production = channel.unary_unary(
        f"/{SERVICE}/GetProduction",
        request_serializer=request_type.SerializeToString,
        response_deserializer=response_type.FromString,
    )

    production = get_production(
        request_type(), metadata=[("authorization", f"Bearer {token}")], timeout=30
    )
    try:
        get_production(
            request_type(), metadata=[("authorization", "Bearer wrong")], timeout=30
        )
        wrong_token = "OK"
    except grpc.RpcError as error:
        wrong_token = error.code().name

    print(
        json.dumps(
            {
                "services": sorted(database.get_services()),
                "production": json_format.MessageToDict(production),
                "wrong_token": wrong_token,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
