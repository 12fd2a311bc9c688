#!/bin/sh
# The worker example's entry point.
echo "worker v1.4.2 ($(cat /dockerfile)), built on $(cat /arch)"
