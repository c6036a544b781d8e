export { createCustomerService, resolveCustomer, findCustomer, type CustomerService } from './customers.service.ts';
export {
  identitySchema,
  identityKinds,
  e164Schema,
  createCustomerBody,
  customerRefBody,
  customerView,
  type Identity,
  type CustomerRef,
  type CustomerView,
  type CreateCustomerInput,
} from './customers.schemas.ts';
