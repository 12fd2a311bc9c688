#!/bin/sh
# The api example's entry point: says what it is and which architecture it was built on.
echo "api v1.4.2, built on $(cat /arch), running on $(uname -m)"
